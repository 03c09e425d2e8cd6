import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BlockedAddressError, httpTransport } from './transport.ts';
import { startTestReceiver } from './test-receiver.ts';

describe('webhook HTTP transport', () => {
  let receiver: Awaited<ReturnType<typeof startTestReceiver>>;
  before(async () => {
    receiver = await startTestReceiver([202]);
  });
  after(async () => {
    await receiver.close();
  });

  const request = (url: string, timeoutMs = 2000) => ({ url, headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs });

  it('posts the body and resolves with the status, through DNS too, when private targets are allowed', async () => {
    const send = httpTransport({ allowPrivateTargets: true });
    assert.deepEqual(await send(request(receiver.url)), { status: 202 });
    assert.deepEqual(await send(request(receiver.url.replace('127.0.0.1', 'localhost'))), { status: 202 });
    assert.equal(receiver.received.at(-1)!.rawBody, '{"a":1}');
  });

  it('refuses to connect to loopback when private targets are not allowed, literal or resolved', async () => {
    const send = httpTransport({ allowPrivateTargets: false });
    const before = receiver.received.length;
    await assert.rejects(send(request(receiver.url)), BlockedAddressError);
    await assert.rejects(send(request(receiver.url.replace('127.0.0.1', 'localhost'))), /refused to connect/);
    assert.equal(receiver.received.length, before, 'nothing reached the receiver');
  });

  it('refuses loopback written as IPv4-mapped or IPv4-compatible IPv6, on every attempt', async () => {
    const send = httpTransport({ allowPrivateTargets: false });
    const before = receiver.received.length;
    const port = new URL(receiver.url).port;
    for (const host of ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::7f00:1]', '[64:ff9b::7f00:1]']) {
      for (let attempt = 0; attempt < 2; attempt++) await assert.rejects(send(request(`http://${host}:${port}/`)), BlockedAddressError, host);
    }
    assert.equal(receiver.received.length, before, 'nothing reached the receiver');
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const started = Date.now();
      await assert.rejects(
        httpTransport({ allowPrivateTargets: true })(request(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, 200)),
        /no answer within 200 ms/,
      );
      assert.ok(Date.now() - started < 2000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

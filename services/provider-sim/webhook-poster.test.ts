import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebhookPoster, WebhookPostError } from './webhook-poster.ts';

describe('WebhookPoster', () => {
  let server: Server;
  let url: string;
  const seen: { path: string; signature: string | undefined; body: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ path: req.url!, signature: req.headers['x-hub-signature-256'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/hang') return;
        res.writeHead(req.url === '/refuse' ? 503 : 200, { 'content-type': 'text/plain' }).end('a body nobody reads');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const never = new AbortController().signal;

  it('POSTs the body with its headers and answers the status', async () => {
    const poster = new WebhookPoster();
    assert.deepEqual(await poster.post(`${url}/hook?x=1`, { 'x-hub-signature-256': 'sha256=ab' }, '{"é":1}', 5000, never), { status: 200, ok: true });
    assert.deepEqual(seen.at(-1), { path: '/hook?x=1', signature: 'sha256=ab', body: '{"é":1}' });
    assert.deepEqual(await poster.post(`${url}/refuse`, {}, '{}', 5000, never), { status: 503, ok: false });
    poster.close();
  });

  it('fails on its timeout, on cancellation and when nobody listens', async () => {
    const poster = new WebhookPoster();
    await assert.rejects(poster.post(`${url}/hang`, {}, '{}', 50, never), (e: unknown) => e instanceof WebhookPostError && e.code === 'timeout');
    const cancel = new AbortController();
    const pending = poster.post(`${url}/hang`, {}, '{}', 5000, cancel.signal);
    setTimeout(() => cancel.abort(), 10);
    await assert.rejects(pending, (e: unknown) => e instanceof WebhookPostError && e.code === 'aborted');
    await assert.rejects(poster.post(`${url}/hang`, {}, '{}', 5000, cancel.signal), (e: unknown) => e instanceof WebhookPostError && e.code === 'aborted', 'already cancelled');
    await assert.rejects(poster.post('http://127.0.0.1:1/', {}, '{}', 5000, never), (e: unknown) => e instanceof WebhookPostError && e.code === 'network');
    poster.close();
  });
});

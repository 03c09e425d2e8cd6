import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpEndpoint } from './graph-http.ts';
import { postGraph } from './meta-graph-client.ts';
import { ProviderError } from './provider-error.ts';

/** A loopback provider whose answer each test chooses; it notes the requests and the sockets they came on. */
async function provider(answer: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const sockets = new Set<unknown>();
  const seen: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      answer(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    sockets,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('httpEndpoint (the send path client)', () => {
  let p: Awaited<ReturnType<typeof provider>>;
  let mode: 'ok' | 'stall-body' | 'cut' | 'error-in-200' = 'ok';
  before(async () => {
    p = await provider((_req, res) => {
      if (mode === 'stall-body') {
        // Headers at once, then a body that never ends.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"messages":');
        return;
      }
      if (mode === 'cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"messages":');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const body = mode === 'error-in-200' ? '{"error":{"message":"nope","code":131026}}' : '{"messages":[{"id":"wamid.1"}]}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  after(() => p.close());

  it('posts the body with the bearer token and JSON headers, and reuses one kept-alive socket', async () => {
    mode = 'ok';
    p.seen.length = 0;
    p.sockets.clear();
    const post = httpEndpoint(`${p.url}/v21.0/123/messages`, 'tok');
    for (let i = 0; i < 3; i++) {
      const answer = await post('{"to":"1"}', 2000);
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.text), { messages: [{ id: 'wamid.1' }] });
      assert.equal(answer.header('content-type'), 'application/json');
      assert.equal(answer.header('x-absent'), null);
    }
    assert.equal(p.seen.length, 3);
    const first = p.seen[0]!;
    assert.equal(first.path, '/v21.0/123/messages');
    assert.equal(first.headers.authorization, 'Bearer tok');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers['content-length'], '10');
    assert.equal(first.body, '{"to":"1"}');
    assert.equal(p.sockets.size, 1, 'one connection for calls one after the other');
  });

  it('times out a provider that sends its headers and then stalls its body', { timeout: 5000 }, async () => {
    mode = 'stall-body';
    const started = Date.now();
    const err = await rejection(postGraph({ channel: 'whatsapp', endpoint: httpEndpoint(`${p.url}/m`, 't'), body: {}, timeoutMs: 300 }));
    assert.equal(err.code, 'provider_timeout');
    assert.equal(err.retriable, true);
    assert.ok(Date.now() - started < 2000);
  });

  it('reports an answer cut short as a retriable network error (the call is in doubt)', { timeout: 5000 }, async () => {
    mode = 'cut';
    const err = await rejection(postGraph({ channel: 'whatsapp', endpoint: httpEndpoint(`${p.url}/m`, 't'), body: {}, timeoutMs: 2000 }));
    assert.equal(err.code, 'provider_network_error');
    assert.equal(err.retriable, true);
  });

  it("reads Meta's error object in a 200 as the provider's error", async () => {
    mode = 'error-in-200';
    const err = await rejection(postGraph({ channel: 'whatsapp', endpoint: httpEndpoint(`${p.url}/m`, 't'), body: {}, timeoutMs: 2000 }));
    assert.equal(err.providerCode, 131026);
    assert.equal(err.retriable, false);
  });
});

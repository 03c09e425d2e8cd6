import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { Registry } from 'prom-client';
import { createLogger } from '../core/logger.ts';
import { createRouteContext } from './app.ts';
import { sendFastPath } from './send-fast-path.ts';
import { startTestApi, type TestApi } from './test-api.ts';

/** What a client sees of an answer, without what differs by nature (time, connection, lengths). */
interface Seen {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const IGNORED = new Set(['date', 'connection', 'keep-alive', 'content-length']);

async function seen(url: string, body: string, headers: Record<string, string>): Promise<Seen> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  const kept: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!IGNORED.has(k)) kept[k] = v;
  });
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // compared as text
  }
  // The same message sent twice gets its own id and time: compare the shape, not the values.
  if (res.status === 202 && parsed && typeof parsed === 'object') parsed = { ...parsed, message_id: '(id)', accepted_at: '(time)' };
  assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text), 'content-length is the body length');
  return { status: res.status, headers: kept, body: parsed };
}

describe('the fast path of POST /v1/messages', () => {
  let api: TestApi;
  let fast: Server;
  let fastUrl: string;
  let declined = 0;
  const registry = new Registry();
  let alice: Awaited<ReturnType<TestApi['user']>>;
  let eve: Awaited<ReturnType<TestApi['user']>>;
  let conversation_id: string;

  before(async () => {
    api = await startTestApi();
    [alice, eve] = [await api.user('alice'), await api.user('eve')];
    const bob = await api.user('bob');
    conversation_id = (await api.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', members: [bob.user_id] } })).body.conversation_id;
    // The fast path alone, over the same stores: a request it would leave to Express answers 599.
    const ctx = createRouteContext({ config: api.config, ...api.stores, store: api.stores, bus: api.bus, objects: api.objects, clock: { now: () => Date.now() }, logger: createLogger('api', 'silent'), registry });
    const handle = sendFastPath(ctx);
    fast = createServer((req, res) =>
      handle(req as Request, res as Response, (() => {
        declined++;
        res.writeHead(599).end();
      }) as NextFunction),
    ).listen(0, '127.0.0.1');
    await once(fast, 'listening');
    fastUrl = `http://127.0.0.1:${(fast.address() as AddressInfo).port}/v1/messages`;
  });
  after(async () => {
    fast.close();
    await api.close();
  });

  /** Sends the same request to the fast path and to the Express route (a query string keeps it off the fast path) and compares. */
  async function same(name: string, body: (id: string) => string, token: string | null = alice.token, headers: Record<string, string> = {}): Promise<Seen> {
    const h = { 'content-type': 'application/json', 'x-request-id': `req-${name}`, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers };
    const viaExpress = await seen(`${api.url}/v1/messages?ref=${name}`, body(randomUUID()), h);
    const viaFast = await seen(fastUrl, body(randomUUID()), h);
    assert.deepEqual(viaFast, viaExpress, name);
    return viaFast;
  }

  const text = (extra: Record<string, unknown> = {}) => (id: string) =>
    JSON.stringify({ message_id: id, conversation_id, channels: ['whatsapp'], payload: { type: 'text', text: 'hi' }, ...extra });

  it('answers every case as the Express route does, headers and problem bodies included', async () => {
    const cases: [string, (id: string) => string, string | null, number][] = [
      ['plain', text(), alice.token, 202],
      ['no-id-default-channels', () => JSON.stringify({ conversation_id, payload: { type: 'text', text: 'Olá 👋' }, metadata: { k: 'v' } }), alice.token, 202],
      ['bom', (id) => `\uFEFF${text()(id)}`, alice.token, 202],
      ['no-token', text(), null, 401],
      ['bad-token', text(), 'not.a.jwt', 401],
      ['malformed', () => '{"conversation_id": "x", ', alice.token, 400],
      ['a-string', () => '"hello"', alice.token, 400],
      ['null', () => 'null', alice.token, 400],
      ['an-array', () => '[1, 2]', alice.token, 400],
      ['whitespace', () => '   ', alice.token, 400],
      ['too-deep', () => `{"conversation_id":"x","metadata":${'['.repeat(200)}${']'.repeat(200)}}`, alice.token, 400],
      ['invalid-fields', () => JSON.stringify({ conversation_id: '', channels: ['pigeon'], payload: { type: 'text' } }), alice.token, 400],
      ['unknown-conversation', () => JSON.stringify({ conversation_id: 'nope', payload: { type: 'text', text: 'hi' } }), alice.token, 404],
      ['not-a-member', text(), eve.token, 404],
    ];
    for (const [name, body, token, status] of cases) assert.equal((await same(name, body, token)).status, status, name);
    assert.equal(declined, 0, 'the fast path answered every case itself');
  });

  it('answers a reused message_id with another body 409 on both', async () => {
    for (const url of [fastUrl, `${api.url}/v1/messages?ref=conflict`]) {
      const message_id = randomUUID();
      const h = { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` };
      assert.equal((await seen(url, text()(message_id), h)).status, 202);
      assert.equal((await seen(url, text()(message_id), h)).status, 202, 'the same body again is a retry');
      const other = await seen(url, JSON.stringify({ message_id, conversation_id, payload: { type: 'text', text: 'else' } }), h);
      assert.equal(other.status, 409);
      assert.match(other.headers['content-type'] ?? '', /^application\/problem\+json/);
    }
  });

  it('leaves the unusual to Express: no body, another media type, a charset it does not read, compressed', async () => {
    const before = declined;
    const post = (headers: Record<string, string>, body?: string) => fetch(fastUrl, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, ...headers }, body });
    assert.equal((await post({ 'content-type': 'application/json' })).status, 599);
    assert.equal((await post({ 'content-type': 'text/plain' }, 'hi')).status, 599);
    assert.equal((await post({ 'content-type': 'application/json; charset=latin1' }, '{}')).status, 599);
    assert.equal((await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}')).status, 599);
    assert.equal(declined - before, 4);
  });

  it('counts its answers in the request metrics with the route pattern', async () => {
    const text = await registry.metrics();
    assert.match(text, /http_requests_total\{method="POST",route="\/v1\/messages",status="202"\} [1-9]/);
    assert.match(text, /http_requests_total\{method="POST",route="\/v1\/messages",status="401"\} 2\n/);
    assert.match(text, /messages_rejected_total\{reason="not_found"\} 2\n/);
  });
});

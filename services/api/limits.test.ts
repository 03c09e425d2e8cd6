import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../core/config.ts';
import { startTestApi, type TestApi, type TestResponse } from './test-api.ts';

function assertProblem(res: TestResponse, status: number) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.status, status);
}

/** Opens a raw connection to `url` and collects what the server sends until it closes (at most `waitMs`). */
async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => received,
    /** Resolves with true when the server closed the connection within `waitMs`. */
    async closedWithin(waitMs: number): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
      const result = await Promise.race([closed.then(() => true as const), timeout]);
      clearTimeout(timer);
      socket.destroy();
      return result;
    },
  };
}

describe('request limits', () => {
  it('refuses a header timeout longer than the request timeout, naming both', () => {
    assert.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '30000' }), /HTTP_HEADERS_TIMEOUT_MS \(40000\) exceeds HTTP_REQUEST_TIMEOUT_MS \(30000\)/);
  });

  let api: TestApi;
  let token: string;
  let userId: string;
  let conversation_id: string;
  before(async () => {
    api = await startTestApi({ httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600, httpKeepAliveTimeoutMs: 400, httpMaxRequestsPerSocket: 2, httpMaxConnections: 8 });
    const [a, b] = [await api.user(), await api.user()];
    token = a.token;
    userId = a.user_id;
    conversation_id = (await api.request('POST', '/v1/conversations', { token, body: { type: 'private', members: [b.user_id] } })).body.conversation_id;
  });
  after(async () => {
    await api.close();
  });

  describe('JSON nesting depth', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

    it('answers 400 problem+json to a 60 KB body nested 30,000 arrays deep in metadata, storing nothing', async () => {
      const raw = `{"conversation_id":"${conversation_id}","payload":{"type":"text","text":"hi"},"metadata":{"a":${deep(29_980)}}}`;
      assert.ok(raw.length > 59_000 && raw.length < 64 * 1024);
      const res = await api.request('POST', '/v1/messages', { token, raw });
      assertProblem(res, 400);
      assert.match(res.body.detail, /more than 32 deep/);
      assert.equal((await api.stores.messages.listMessages(conversation_id, 0, 100)).length, 0);
      const conv = await api.request('POST', '/v1/conversations', { token, raw: `{"type":"group","members":[],"metadata":{"a":${deep(30_000)}}}` });
      assertProblem(conv, 400);
      assert.equal((await api.stores.conversations.listConversations(userId, { limit: 200 })).conversations.length, 1, 'no group was created');
    });

    it('answers 400 to a bare deep array too, and takes metadata within the depth', async () => {
      assertProblem(await api.request('POST', '/auth/register', { raw: deep(30_000) }), 400);
      const ok = await api.request('POST', '/v1/messages', {
        token,
        body: { conversation_id, payload: { type: 'text', text: 'nested ok' }, metadata: { a: JSON.parse(deep(20)) } },
      });
      assert.equal(ok.status, 202, ok.text);
    });
  });

  describe('lone surrogates', () => {
    // JSON escapes decode to a lone surrogate; JSON.stringify would write a valid pair as is.
    const loneHigh = '"\\ud800"';
    const loneLow = '"x\\udc00y"';

    it('answers 400 naming the field for a lone surrogate in the text, a name, a member id or metadata', async () => {
      const cases: [string, string, string][] = [
        ['/v1/messages', `{"conversation_id":"${conversation_id}","payload":{"type":"text","text":${loneHigh}}}`, 'payload.text'],
        ['/v1/messages', `{"conversation_id":${loneLow},"payload":{"type":"text","text":"x"}}`, 'conversation_id'],
        ['/v1/messages', `{"conversation_id":"${conversation_id}","payload":{"type":"text","text":"x"},"metadata":{"k":{"deep":[${loneLow}]}}}`, 'metadata'],
        ['/v1/messages', `{"conversation_id":"${conversation_id}","payload":{"type":"text","text":"x"},"metadata":{${loneHigh}:1}}`, 'metadata'],
        ['/v1/conversations', `{"type":"group","members":[],"name":${loneHigh}}`, 'name'],
        ['/v1/conversations', `{"type":"group","members":[${loneLow}]}`, 'members[0]'],
        ['/v1/webhooks', `{"url":"https://93.184.216.34/${loneHigh.slice(1, -1)}","events":["message.sent"]}`, 'url'],
      ];
      for (const [path, raw, field] of cases) {
        const res = await api.request('POST', path, { token, raw });
        assertProblem(res, 400);
        assert.ok(res.body.errors.some((e: { field: string }) => e.field === field), `${raw} → ${res.text}`);
      }
      assert.equal((await api.stores.messages.listMessages(conversation_id, 0, 100)).some((m) => m.payload.type === 'text' && m.payload.text !== 'nested ok'), false);
    });

    it('refuses a lone surrogate in a password (it would hash like U+FFFD) and keeps valid pairs', async () => {
      const res = await api.request('POST', '/auth/register', { raw: `{"username":"surrogate_user","password":"password-${loneHigh.slice(1, -1)}"}` });
      assertProblem(res, 400);
      assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field), ['password']);
      const emoji = await api.request('POST', '/v1/messages', { token, raw: `{"conversation_id":"${conversation_id}","payload":{"type":"text","text":"\\ud83d\\ude00 ok"}}` });
      assert.equal(emoji.status, 202, emoji.text);
    });
  });

  describe('headers', () => {
    it('sends helmet\'s security headers', async () => {
      const res = await api.request('GET', '/healthz');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/);
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(res.headers.get('x-powered-by'), null);
    });

    it('answers a URL over Node\'s header limit with a 431 problem, not an empty answer', async () => {
      const res = await api.request('GET', `/v1/users?username=${'x'.repeat(20_000)}`);
      assert.equal(res.status, 431);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(res.body.status, 431);
    });
  });

  describe('slow clients and connections', () => {
    it('closes a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
      const c = await rawConnection(api.url);
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      assert.equal(await c.closedWithin(3000), true, 'closed by the server');
      assert.match(c.received(), /^HTTP\/1\.1 408/);
    });

    it('closes a connection whose body does not arrive within HTTP_REQUEST_TIMEOUT_MS', async () => {
      const c = await rawConnection(api.url);
      c.socket.write('POST /auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user');
      assert.equal(await c.closedWithin(3000), true, 'closed by the server');
    });

    it('serves HTTP_MAX_REQUESTS_PER_SOCKET requests on one connection, the last with Connection: close', async () => {
      const c = await rawConnection(api.url);
      const get = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      c.socket.write(get + get + get);
      const deadline = Date.now() + 3000;
      while ((c.received().match(/HTTP\/1\.1 \d+/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const answers = c.received().match(/HTTP\/1\.1 \d+/g) ?? [];
      // Node answers requests past the limit with 503 (and the client should have closed).
      assert.deepEqual(answers, ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 503'], c.received());
      const second = c.received().split(/HTTP\/1\.1 /)[2] ?? '';
      assert.match(second, /^Connection: close/im);
      c.socket.destroy();
    });

    it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
      const c = await rawConnection(api.url);
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal(await c.closedWithin(3000), true, 'closed by the server');
      assert.match(c.received(), /^HTTP\/1\.1 200/);
      assert.match(c.received(), /Keep-Alive: timeout=0/i);
    });

    it('drops connections beyond HTTP_MAX_CONNECTIONS', async () => {
      const held = [];
      for (let i = 0; i < 8; i++) held.push(await rawConnection(api.url));
      const extra = await rawConnection(api.url);
      assert.equal(await extra.closedWithin(2000), true, 'the ninth connection is dropped');
      for (const h of held) h.socket.destroy();
    });
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { startTestApi, type TestApi, type TestResponse } from './test-api.ts';

function assertLimited(res: TestResponse, what: RegExp) {
  assert.equal(res.status, 429, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
  assert.equal(res.body.status, 429);
  assert.match(res.body.detail, what);
}

describe('rate limits', () => {
  describe('logins from one address, counted by two API replicas on one SQLite file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-limits-'));
    const [one, two] = [openSqliteStores(join(dir, 'db')), openSqliteStores(join(dir, 'db'))];
    let a: TestApi;
    let b: TestApi;
    before(async () => {
      a = await startTestApi({ rateLimitLoginPerIp: 4 }, { stores: one });
      b = await startTestApi({ rateLimitLoginPerIp: 4 }, { stores: two });
    });
    after(async () => {
      await a.close();
      await b.close();
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers 429 with Retry-After once the address has spent its logins on either replica', async () => {
      const login = (api: TestApi) => api.request('POST', '/auth/token', { body: { username: 'nobody', password: 'wrong-password' } });
      const statuses = [];
      for (const api of [a, b, a, b]) statuses.push((await login(api)).status);
      assert.deepEqual(statuses, [401, 401, 401, 401]);
      // The fifth login from this address, on either replica: the counters are in the shared store.
      assertLimited(await login(a), /too many logins from this address: at most 4 per 60 s/);
      assertLimited(await login(b), /too many logins from this address/);
      const refused = await a.request('POST', '/auth/token', { body: { client_id: 'demo-client', client_secret: 'demo-secret' } });
      assert.equal(refused.status, 429, 'client credentials count against the address too');
      assert.match(await (await fetch(`${a.url}/metrics`)).text(), /api_rate_limited_total\{limit="loginPerIp"[^}]*\} 2\n/);
      a.advanceClock(60_000);
      assert.equal((await login(a)).status, 401, 'the next window starts again');
    });
  });

  describe('per user and per conversation', () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi({ rateLimitSendsPerUser: 3, rateLimitSendsPerConversation: 5, rateLimitLoginPerUsername: 2, rateLimitRegisterPerUsername: 2, rateLimitIdentityLinksPerUser: 1, rateLimitWebhooksPerUser: 1 });
    });
    after(() => api.close());

    const send = (token: string, conversation_id: string, text = 'hi', message_id = randomUUID()) =>
      api.request('POST', '/v1/messages', { token, body: { message_id, conversation_id, payload: { type: 'text', text } } });

    it('limits the sends of one user, and stores nothing it refuses', async () => {
      const [alice, bob] = [await api.user(), await api.user()];
      const conv = (await api.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', members: [bob.user_id] } })).body.conversation_id as string;
      const accepted = randomUUID();
      assert.equal((await send(alice.token, conv, 'm0', accepted)).status, 202);
      for (let i = 1; i < 3; i++) assert.equal((await send(alice.token, conv, `m${i}`)).status, 202);
      const refused = randomUUID();
      assertLimited(await send(alice.token, conv, 'one too many', refused), /too many messages from this user: at most 3 per 60 s/);
      assert.equal((await api.request('GET', `/v1/messages/${accepted}`, { token: alice.token })).status, 200);
      assert.equal((await api.request('GET', `/v1/messages/${refused}`, { token: alice.token })).status, 404, 'the refused message was not stored');
      assert.equal((await send(bob.token, conv)).status, 202, 'another user has its own budget');
      assert.match(await (await fetch(`${api.url}/metrics`)).text(), /messages_rejected_total\{reason="rate_limited"[^}]*\} 1\n/);
    });

    it('limits the sends into one conversation across its members; outsiders cannot spend it', async () => {
      const members = [await api.user(), await api.user(), await api.user()];
      const outsider = await api.user();
      const conv = (await api.request('POST', '/v1/conversations', { token: members[0]!.token, body: { type: 'group', name: 'g', members: members.slice(1).map((m) => m.user_id) } })).body.conversation_id as string;
      for (let i = 0; i < 3; i++) assert.equal((await send(outsider.token, conv)).status, 404);
      const statuses = [];
      for (const m of [...members, ...members]) statuses.push((await send(m.token, conv)).status);
      assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429]);
    });

    it('limits logins and registrations per username, identity links and webhook creations per user', async () => {
      const u = await api.user();
      // api.user() logged in once: one login of this username is left.
      assert.equal((await api.request('POST', '/auth/token', { body: { username: u.username, password: 'wrong-password' } })).status, 401);
      assertLimited(await api.request('POST', '/auth/token', { body: { username: u.username, password: u.password } }), /too many logins for this username/);
      assert.equal((await api.request('POST', '/auth/register', { body: { username: u.username, password: 'password123' } })).status, 409);
      assertLimited(await api.request('POST', '/auth/register', { body: { username: u.username, password: 'password123' } }), /too many registrations of this username/);
      assert.equal((await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'whatsapp', address: '+5511988880001' } })).status, 201);
      assertLimited(await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'whatsapp', address: '+5511988880002' } }), /identity links/);
      assert.equal((await api.request('GET', '/v1/users/me/identities', { token: u.token })).body.identities.length, 1);
      const hook = { url: 'https://93.184.215.14/hook', events: ['message.delivered'] };
      const first = await api.request('POST', '/v1/webhooks', { token: u.token, body: hook });
      assert.equal(first.status, 201, first.text);
      assertLimited(await api.request('POST', '/v1/webhooks', { token: u.token, body: hook }), /webhooks created by this user/);
    });
  });

  describe('the client address', () => {
    it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
      for (const trustProxy of ['false', 'true']) {
        const api = await startTestApi({ rateLimitRegisterPerIp: 1, trustProxy });
        try {
          const register = (from: string) => api.request('POST', '/auth/register', { body: { username: `u${Math.random().toString(36).slice(2)}`, password: 'password123' }, headers: { 'x-forwarded-for': from } });
          assert.equal((await register('203.0.113.1')).status, 201);
          // Behind a trusted proxy, another client address has its own budget; without one, a forged header buys nothing.
          assert.equal((await register('203.0.113.2')).status, trustProxy === 'true' ? 201 : 429, `TRUST_PROXY=${trustProxy}`);
          assert.equal((await register('203.0.113.2')).status, 429);
        } finally {
          await api.close();
        }
      }
    });

    it('turns every limit off with RATE_LIMIT_ENABLED=false', async () => {
      const api = await startTestApi({ rateLimitEnabled: 'false', rateLimitLoginPerIp: 1 });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await api.request('POST', '/auth/token', { body: { username: 'nobody', password: 'wrong-password' } })).status, 401);
      } finally {
        await api.close();
      }
    });
  });
});

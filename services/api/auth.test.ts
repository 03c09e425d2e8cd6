import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { hashPassword } from './password.ts';
import { Auth } from './auth.ts';
import { startTestApi, type TestApi } from './test-api.ts';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('auth', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  const assertUnauthorized = (res: { status: number; headers: Headers; body: { status?: number; type?: string } }) => {
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.status, 401);
    assert.ok(res.body.type);
  };

  it('registers a user, refuses a taken username with 409, and issues a token that opens /v1', async () => {
    const reg = await api.request('POST', '/auth/register', { body: { username: 'alice', password: 'password123', email: 'a@example.com' } });
    assert.equal(reg.status, 201);
    assert.equal(reg.body.username, 'alice');
    assert.match(reg.body.user_id, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(reg.body.created_at)));
    assert.equal(reg.body.password_hash, undefined);

    const again = await api.request('POST', '/auth/register', { body: { username: 'alice', password: 'other-password' } });
    assert.equal(again.status, 409);
    assert.match(again.headers.get('content-type') ?? '', /problem\+json/);

    const tok = await api.request('POST', '/auth/token', { body: { username: 'alice', password: 'password123' } });
    assert.equal(tok.status, 200);
    assert.equal(tok.body.token_type, 'Bearer');
    assert.equal(tok.body.expires_in, api.config.jwtTtlSeconds);
    const claims = JSON.parse(Buffer.from(tok.body.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, reg.body.user_id);
    assert.equal(claims.role, 'user');
    assert.equal(claims.iss, 'chat4all');
    assert.equal(claims.exp - claims.iat, api.config.jwtTtlSeconds);

    const me = await api.request('GET', '/v1/users/me/identities', { token: tok.body.access_token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { identities: [] });
  });

  it('stores the password hashed with scrypt', async () => {
    const u = await api.user();
    const stored = await api.stores.users.findUserByName(u.username);
    assert.match(stored!.password_hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!stored!.password_hash.includes(u.password));
  });

  it('answers 401 for a wrong password and for an unknown user, alike', async () => {
    const u = await api.user();
    const bad = await api.request('POST', '/auth/token', { body: { username: u.username, password: 'wrong-password' } });
    assertUnauthorized(bad);
    const unknown = await api.request('POST', '/auth/token', { body: { username: 'nobody-here', password: 'wrong-password' } });
    assertUnauthorized(unknown);
    assert.equal(unknown.body.detail, bad.body.detail);
  });

  it('makes no admin by registration, whatever the name', async () => {
    for (const username of ['root', 'admin', 'ops']) {
      const reg = await api.request('POST', '/auth/register', { body: { username, password: 'password123' } });
      assert.equal(reg.body.role, 'user');
      const tok = await api.request('POST', '/auth/token', { body: { username, password: 'password123' } });
      assert.equal((await api.request('GET', '/v1/admin/dead-letters', { token: tok.body.access_token })).status, 403, username);
    }
  });

  it('reads the admin role from the store at each request: a grant and a revoke count at the next one', async () => {
    const u = await api.user('ops');
    const list = () => api.request('GET', '/v1/admin/dead-letters', { token: u.token });
    assert.equal((await list()).status, 403);
    await api.stores.users.setRole(u.user_id, 'admin');
    assert.equal((await list()).status, 200, 'the token issued before the grant works now');
    await api.stores.users.setRole(u.user_id, 'user');
    const revoked = await list();
    assert.equal(revoked.status, 403, 'the revoke counts at once, though the token is unchanged');
    assert.match(revoked.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  it('does not take the role from the token: a token claiming admin for a user is refused', async () => {
    const u = await api.user();
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(u.user_id)
      .setIssuer('chat4all')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(api.config.jwtSecret));
    assert.equal((await api.request('GET', '/v1/admin/dead-letters', { token: forged })).status, 403);
  });

  it('issues service tokens for client credentials and refuses a wrong secret', async () => {
    const ok = await api.request('POST', '/auth/token', { body: { client_id: 'demo-client', client_secret: 'demo-secret' } });
    assert.equal(ok.status, 200);
    const claims = JSON.parse(Buffer.from(ok.body.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'client:demo-client');
    assert.equal(claims.role, 'service');
    assertUnauthorized(await api.request('POST', '/auth/token', { body: { client_id: 'demo-client', client_secret: 'demo-secreT' } }));
    assertUnauthorized(await api.request('POST', '/auth/token', { body: { client_id: 'ghost', client_secret: 'demo-secret' } }));
  });

  it('validates registration input', async () => {
    const res = await api.request('POST', '/auth/register', { body: { username: 'AB', password: 'short' } });
    assert.equal(res.status, 400);
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['password', 'username']);
  });

  describe('bearer tokens on /v1', () => {
    let token: string;
    let userId: string;
    before(async () => {
      ({ token, user_id: userId } = await api.user());
    });

    it('refuses a missing or malformed Authorization header', async () => {
      assertUnauthorized(await api.request('GET', '/v1/conversations'));
      assertUnauthorized(await api.request('GET', '/v1/conversations', { headers: { authorization: 'Basic abc' } }));
      assertUnauthorized(await api.request('GET', '/v1/conversations', { token: 'not-a-jwt' }));
    });

    it('refuses an alg:none token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: userId, role: 'admin', iss: 'chat4all', iat: now, exp: now + 600 })}.`;
      assertUnauthorized(await api.request('GET', '/v1/conversations', { token: none }));
    });

    it('refuses a token signed with another secret, or with another algorithm', async () => {
      const forged = await new SignJWT({ role: 'user' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer('chat4all')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('another-secret-another-secret-another'));
      assertUnauthorized(await api.request('GET', '/v1/conversations', { token: forged }));
      const hs512 = await new SignJWT({ role: 'user' })
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject(userId)
        .setIssuer('chat4all')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(api.config.jwtSecret));
      assertUnauthorized(await api.request('GET', '/v1/conversations', { token: hs512 }));
    });

    it('refuses a tampered token', async () => {
      const [h, p, s] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const tampered = `${h}.${b64url({ ...claims, role: 'admin' })}.${s}`;
      assertUnauthorized(await api.request('GET', '/v1/conversations', { token: tampered }));
      // The untouched token still works, so the refusal above is about the change.
      assert.equal((await api.request('GET', '/v1/conversations', { token })).status, 200);
    });

    it('verifies a token once and remembers the verdict until the token expires', async () => {
      let now = Date.now();
      const auth = new Auth({ config: api.config, users: api.stores.users, clock: { now: () => now } });
      const u = await api.user('cache');
      const issued = (await auth.issueToken({ username: u.username, password: u.password })).access_token;
      assert.equal((await auth.verify(issued)).sub, u.user_id);
      let verifications = 0;
      const real = (auth as unknown as { key: Promise<CryptoKey> }).key;
      (auth as unknown as { key: unknown }).key = { then: (ok: (k: CryptoKey) => unknown, no: (e: unknown) => unknown) => (verifications++, real.then(ok, no)) };
      assert.equal((await auth.verify(issued)).sub, u.user_id);
      assert.equal(verifications, 0, 'the second request did not verify the signature again');
      now += (api.config.jwtTtlSeconds + 1) * 1000;
      await assert.rejects(auth.verify(issued), /expired/);
    });

    it('refuses an expired token', async () => {
      const expired = await new SignJWT({ role: 'user' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer('chat4all')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(api.config.jwtSecret));
      const res = await api.request('GET', '/v1/conversations', { token: expired });
      assertUnauthorized(res);
      assert.match(res.body.detail, /expired/);

      // A token the API issued stops working once its lifetime has passed.
      api.advanceClock((api.config.jwtTtlSeconds + 5) * 1000);
      try {
        assertUnauthorized(await api.request('GET', '/v1/conversations', { token }));
      } finally {
        api.advanceClock(-(api.config.jwtTtlSeconds + 5) * 1000);
      }
    });
  });

  it('rehashes a password made with another cost at the next successful login, and not on a failed one', async () => {
    const u = await api.user('rehash');
    const old = await hashPassword(u.password, 512);
    assert.equal(await api.stores.users.updatePasswordHash(u.user_id, old), true);
    const wrong = await api.request('POST', '/auth/token', { body: { username: u.username, password: 'not the password' } });
    assert.equal(wrong.status, 401);
    assert.equal((await api.stores.users.findUserByName(u.username))?.password_hash, old);

    const tok = await api.request('POST', '/auth/token', { body: { username: u.username, password: u.password } });
    assert.equal(tok.status, 200);
    const now = (await api.stores.users.findUserByName(u.username))?.password_hash ?? '';
    assert.match(now, new RegExp(`^scrypt\\$${api.config.scryptCost}\\$8\\$1\\$`));
    const again = await api.request('POST', '/auth/token', { body: { username: u.username, password: u.password } });
    assert.equal(again.status, 200, 'the new hash verifies');
  });
});

describe('auth under a burst of logins', () => {
  it('hashes PASSWORD_HASH_CONCURRENCY at once and answers the overflow 503 problem+json with Retry-After at once', async () => {
    const api = await startTestApi({ scryptCost: 16384, passwordHashConcurrency: 1, passwordHashQueue: 1 });
    try {
      const u = await api.user('burst');
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => api.request('POST', '/auth/token', { body: { username: u.username, password: u.password } })),
      );
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.includes(200), statuses.join());
      const busy = answers.filter((a) => a.status === 503);
      assert.ok(busy.length >= 1, `no login was turned away: ${statuses.join()}`);
      for (const b of busy) {
        assert.equal(b.headers.get('retry-after'), '1');
        assert.match(b.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
      assert.ok(statuses.every((s) => s === 200 || s === 503), statuses.join());
    } finally {
      await api.close();
    }
  });
});


import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestApi } from './test-api.ts';

const TOKEN = 'bootstrap-token-for-this-test-0123456789abcdef';

test('the bootstrap token makes its caller an admin; a wrong one is 403 and counted', async () => {
  const api = await startTestApi({ adminBootstrapToken: TOKEN });
  try {
    const u = await api.user();
    assert.equal((await api.request('GET', '/v1/admin/dead-letters', { token: u.token })).status, 403);

    const wrong = await api.request('POST', '/v1/admin/bootstrap', { token: u.token, body: { token: `${TOKEN}x` } });
    assert.equal(wrong.status, 403);
    assert.match(wrong.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await api.stores.users.getUser(u.user_id))?.role, 'user');
    assert.equal((await api.request('GET', '/v1/admin/dead-letters', { token: u.token })).status, 403);

    assert.equal((await api.request('POST', '/v1/admin/bootstrap', { body: { token: TOKEN } })).status, 401);
    assert.equal((await api.request('POST', '/v1/admin/bootstrap', { token: u.token, body: {} })).status, 400);

    const ok = await api.request('POST', '/v1/admin/bootstrap', { token: u.token, body: { token: TOKEN } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { user_id: u.user_id, role: 'admin' });
    assert.equal((await api.request('GET', '/v1/admin/dead-letters', { token: u.token })).status, 200);

    const metrics = await api.registry.metrics();
    assert.match(metrics, /api_admin_bootstrap_total\{outcome="refused"[^}]*\} 1\n/);
    assert.match(metrics, /api_admin_bootstrap_total\{outcome="granted"[^}]*\} 1\n/);
  } finally {
    await api.close();
  }
});

test('no bootstrap token configured: 404, and nobody becomes admin', async () => {
  const api = await startTestApi();
  try {
    const u = await api.user();
    const res = await api.request('POST', '/v1/admin/bootstrap', { token: u.token, body: { token: '' + 'anything-at-all' } });
    assert.equal(res.status, 404);
    assert.equal((await api.stores.users.getUser(u.user_id))?.role, 'user');
  } finally {
    await api.close();
  }
});

test('wrong bootstrap tokens run into the per-address limit (429)', async () => {
  const api = await startTestApi({ adminBootstrapToken: TOKEN, rateLimitLoginPerIp: 3 });
  try {
    const u = await api.user();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.request('POST', '/v1/admin/bootstrap', { token: u.token, body: { token: `guess-${i}` } })).status);
    assert.deepEqual(statuses, [403, 403, 403, 429]);
  } finally {
    await api.close();
  }
});

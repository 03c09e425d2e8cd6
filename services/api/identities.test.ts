import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './test-api.ts';

describe('identities', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('links, lists and unlinks the caller identities', async () => {
    const u = await api.user();
    const wa = await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'whatsapp', address: '+5511999990001' } });
    assert.equal(wa.status, 201);
    assert.equal(wa.body.channel, 'whatsapp');
    assert.equal(wa.body.address, '+5511999990001');
    assert.ok(wa.body.linked_at);
    const ig = await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'instagram', address: '17841400000000001' } });
    assert.equal(ig.status, 201);

    const list = await api.request('GET', '/v1/users/me/identities', { token: u.token });
    assert.deepEqual(
      list.body.identities.map((i: { channel: string; address: string }) => `${i.channel}:${i.address}`).sort(),
      ['instagram:17841400000000001', 'whatsapp:+5511999990001'],
    );

    const del = await api.request('DELETE', `/v1/users/me/identities/whatsapp/${encodeURIComponent('+5511999990001')}`, { token: u.token });
    assert.equal(del.status, 204);
    const after = await api.request('GET', '/v1/users/me/identities', { token: u.token });
    assert.deepEqual(after.body.identities.map((i: { channel: string }) => i.channel), ['instagram']);

    const again = await api.request('DELETE', `/v1/users/me/identities/whatsapp/${encodeURIComponent('+5511999990001')}`, { token: u.token });
    assert.equal(again.status, 404);
  });

  it('answers 409 when the address is linked to another user, and lets the holder relink', async () => {
    const a = await api.user();
    const b = await api.user();
    const body = { channel: 'whatsapp', address: '+5511999990002' };
    assert.equal((await api.request('POST', '/v1/users/me/identities', { token: a.token, body })).status, 201);
    const taken = await api.request('POST', '/v1/users/me/identities', { token: b.token, body });
    assert.equal(taken.status, 409);
    assert.match(taken.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal((await api.request('POST', '/v1/users/me/identities', { token: a.token, body })).status, 201);
    // b cannot unlink a's address either.
    const del = await api.request('DELETE', `/v1/users/me/identities/whatsapp/${encodeURIComponent(body.address)}`, { token: b.token });
    assert.equal(del.status, 404);
  });

  it('validates addresses per channel', async () => {
    const u = await api.user();
    for (const body of [
      { channel: 'whatsapp', address: '5511999990001' },
      { channel: 'whatsapp', address: '+1234' },
      { channel: 'instagram', address: 'has space' },
    ]) {
      const res = await api.request('POST', '/v1/users/me/identities', { token: u.token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.errors[0].field, 'address');
    }
    const res = await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'telegram', address: 'x' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'channel');
  });
});

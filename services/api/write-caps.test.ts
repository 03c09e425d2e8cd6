import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_WEBHOOKS_PER_USER } from '../webhooks/create-webhook.ts';
import { startTestApi, type TestApi, type TestResponse } from './test-api.ts';

// A public-looking literal address (TEST-NET-3): passes the URL policy without DNS, and nothing is sent to it.
const PUBLIC_URL = 'https://203.0.113.10/hooks/chat4all';

/** Counts the statuses of parallel answers and checks that every refusal is the cap's 409 problem. */
function tally(answers: TestResponse[], created: number, type: string) {
  const refused = answers.filter((r) => r.status !== created);
  for (const r of refused) {
    assert.equal(r.status, 409, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(r.body.type, `https://chat4all.dev/problems/${type}`);
  }
  return { ok: answers.length - refused.length, refused: refused.length };
}

describe('caps enforced at write time (parallel requests at the limit)', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ maxIdentitiesPerChannel: 2, maxGroupMembers: 4 });
  });
  after(async () => {
    await api.close();
  });

  it('links at most MAX_IDENTITIES_PER_CHANNEL identities per channel; the rest get a 409 problem', async () => {
    const u = await api.user('linker');
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'whatsapp', address: `+551199990${1000 + i}` } })),
    );
    assert.deepEqual(tally(answers, 201, 'too-many-identities'), { ok: 2, refused: 4 });
    const refusal = answers.find((r) => r.status === 409)!;
    assert.match(refusal.body.detail, /already have 2 whatsapp identities.*MAX_IDENTITIES_PER_CHANNEL/);
    assert.deepEqual(refusal.body.errors.map((e: { field: string }) => e.field), ['address']);
    const list = await api.request('GET', '/v1/users/me/identities', { token: u.token });
    assert.equal(list.body.identities.length, 2, 'nothing stored for a refused link');
    const held = list.body.identities[0].address as string;
    assert.equal((await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'whatsapp', address: held } })).status, 201, 'relinking a held address is never refused');
    assert.equal((await api.request('POST', '/v1/users/me/identities', { token: u.token, body: { channel: 'instagram', address: 'ig.linker' } })).status, 201, 'each channel has its own cap');
  });

  it('adds members up to MAX_GROUP_MEMBERS; parallel adds past it get a 409 problem', async () => {
    const [a, b] = [await api.user(), await api.user()];
    const others = await Promise.all(Array.from({ length: 5 }, () => api.user()));
    const group = (await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', members: [b.user_id] } })).body;
    const answers = await Promise.all(
      others.map((o) => api.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: a.token, body: { user_id: o.user_id } })),
    );
    assert.deepEqual(tally(answers, 200, 'too-many-members'), { ok: 2, refused: 3 });
    assert.equal((await api.stores.conversations.getConversation(group.conversation_id))?.members.length, 4);
  });

  it(`creates at most ${MAX_WEBHOOKS_PER_USER} webhooks per user, however many requests run at once`, async () => {
    const u = await api.user('hooks');
    const answers = await Promise.all(
      Array.from({ length: MAX_WEBHOOKS_PER_USER + 6 }, () => api.request('POST', '/v1/webhooks', { token: u.token, body: { url: PUBLIC_URL, events: ['message.read'] } })),
    );
    assert.deepEqual(tally(answers, 201, 'too-many-webhooks'), { ok: MAX_WEBHOOKS_PER_USER, refused: 6 });
    assert.equal((await api.request('GET', '/v1/webhooks', { token: u.token })).body.webhooks.length, MAX_WEBHOOKS_PER_USER);
  });
});

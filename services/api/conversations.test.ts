import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './test-api.ts';

describe('conversations', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('creates a private conversation with the caller added, visible to members only', async () => {
    const [a, b, c] = [await api.user(), await api.user(), await api.user()];
    const res = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } });
    assert.equal(res.status, 201);
    assert.equal(res.body.type, 'private');
    assert.deepEqual([...res.body.members].sort(), [a.user_id, b.user_id].sort());
    const id = res.body.conversation_id;

    assert.equal((await api.request('GET', `/v1/conversations/${id}`, { token: b.token })).body.conversation_id, id);
    const foreign = await api.request('GET', `/v1/conversations/${id}`, { token: c.token });
    const missing = await api.request('GET', '/v1/conversations/does-not-exist', { token: c.token });
    assert.equal(foreign.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);

    const listA = await api.request('GET', '/v1/conversations', { token: a.token });
    assert.deepEqual(listA.body.conversations.map((x: { conversation_id: string }) => x.conversation_id), [id]);
    const listC = await api.request('GET', '/v1/conversations', { token: c.token });
    assert.deepEqual(listC.body.conversations, []);
  });

  it('requires exactly two members for a private conversation', async () => {
    const [a, b, c] = [await api.user(), await api.user(), await api.user()];
    const three = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id, c.user_id] } });
    assert.equal(three.status, 400);
    const alone = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [a.user_id] } });
    assert.equal(alone.status, 400);
    // Duplicates collapse, so this is a valid pair.
    const dup = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id, b.user_id] } });
    assert.equal(dup.status, 201);
    assert.equal(dup.body.members.length, 2);
  });

  it('names unknown members', async () => {
    const a = await api.user();
    const res = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', members: ['ghost-1', 'ghost-2'] } });
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /ghost-1/);
    assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field), ['members[0]', 'members[1]']);
  });

  it('creates a group of MAX_GROUP_MEMBERS (256 by default) and refuses one more, storing nothing', async () => {
    assert.equal(api.config.maxGroupMembers, 256);
    const a = await api.user();
    const ids: string[] = [];
    for (let i = 0; i < 256; i++) {
      const id = `bulk-${i}-${Math.random()}`;
      await api.stores.users.createUser({ user_id: id, username: `bulk${i}_${Math.random().toString(36).slice(2, 8)}`, password_hash: 'x', created_at: new Date().toISOString() });
      ids.push(id);
    }
    const before = (await api.stores.conversations.listConversations(a.user_id, { limit: 200 })).conversations.length;
    const over = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', name: 'big', members: ids } });
    assert.equal(over.status, 409, over.text);
    assert.match(over.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(over.body.detail, /at most 256 members/);
    assert.equal((await api.stores.conversations.listConversations(a.user_id, { limit: 200 })).conversations.length, before, 'nothing stored');

    const res = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', name: 'big', members: ids.slice(1) } });
    assert.equal(res.status, 201);
    assert.equal(res.body.members.length, 256);
    assert.equal(res.body.name, 'big');
  });

  it('refuses to add a member to a full group (409 problem), and re-adding a member is still a no-op', async () => {
    const small = await startTestApi({ maxGroupMembers: 3 });
    try {
      const [a, b, c, d] = [await small.user(), await small.user(), await small.user(), await small.user()];
      const group = (await small.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', members: [b.user_id, c.user_id] } })).body;
      const full = await small.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: a.token, body: { user_id: d.user_id } });
      assert.equal(full.status, 409, full.text);
      assert.match(full.body.detail, /most a group may have \(3\)/);
      assert.deepEqual(full.body.errors.map((e: { field: string }) => e.field), ['user_id']);
      assert.equal((await small.stores.conversations.getConversation(group.conversation_id))?.members.length, 3);
      const again = await small.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: a.token, body: { user_id: c.user_id } });
      assert.equal(again.status, 200);
    } finally {
      await small.close();
    }
  });

  it('adds members to groups only, by members only, and only existing users', async () => {
    const [a, b, c, d] = [await api.user(), await api.user(), await api.user(), await api.user()];
    const group = (await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', members: [b.user_id], name: 'team' } })).body;
    const added = await api.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: b.token, body: { user_id: c.user_id } });
    assert.equal(added.status, 200);
    assert.ok(added.body.members.includes(c.user_id));
    assert.equal((await api.request('GET', `/v1/conversations/${group.conversation_id}`, { token: c.token })).status, 200);

    const byOutsider = await api.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: d.token, body: { user_id: d.user_id } });
    assert.equal(byOutsider.status, 404);

    const ghost = await api.request('POST', `/v1/conversations/${group.conversation_id}/members`, { token: a.token, body: { user_id: 'ghost' } });
    assert.equal(ghost.status, 400);
    assert.equal(ghost.body.errors[0].field, 'user_id');

    const priv = (await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } })).body;
    const toPrivate = await api.request('POST', `/v1/conversations/${priv.conversation_id}/members`, { token: a.token, body: { user_id: c.user_id } });
    assert.equal(toPrivate.status, 400);
  });

  it('removes a member of a group and lets a member leave; the history stays with the others', async () => {
    const [a, b, c, outsider] = [await api.user(), await api.user(), await api.user(), await api.user()];
    const g = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', name: 'g', members: [b.user_id, c.user_id] } });
    const id = g.body.conversation_id as string;
    const path = (u: string) => `/v1/conversations/${id}/members/${u}`;
    assert.equal((await api.request('DELETE', path(b.user_id), { token: outsider.token })).status, 404, 'not a member: the group looks missing');
    const removed = await api.request('DELETE', path(b.user_id), { token: a.token });
    assert.equal(removed.status, 204, removed.text);
    assert.deepEqual((await api.request('GET', `/v1/conversations/${id}`, { token: a.token })).body.members, [a.user_id, c.user_id]);
    for (const p of [`/v1/conversations/${id}`, `/v1/conversations/${id}/messages`]) {
      assert.equal((await api.request('GET', p, { token: b.token })).status, 404, `${p}: the removed member can no longer read it`);
    }
    assert.deepEqual((await api.request('GET', '/v1/conversations', { token: b.token })).body.conversations, []);
    const again = await api.request('DELETE', path(b.user_id), { token: a.token });
    assert.equal(again.status, 404);
    assert.match(again.body.detail, /member not found/);
    // Leaving: removing oneself.
    assert.equal((await api.request('DELETE', path(c.user_id), { token: c.token })).status, 204);
    assert.deepEqual((await api.request('GET', `/v1/conversations/${id}`, { token: a.token })).body.members, [a.user_id]);
    // Private conversations have no members to remove.
    const p = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } });
    const priv = await api.request('DELETE', `/v1/conversations/${p.body.conversation_id}/members/${b.user_id}`, { token: a.token });
    assert.equal(priv.status, 400);
    assert.match(priv.headers.get('content-type') ?? '', /problem\+json/);
  });

  it('finds a user by exact username only, with id and name only', async () => {
    const [a, b] = [await api.user(), await api.user()];
    const found = await api.request('GET', `/v1/users?username=${b.username}`, { token: a.token });
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(found.body, { user_id: b.user_id, username: b.username });
    const partial = await api.request('GET', `/v1/users?username=${b.username.slice(0, -1)}`, { token: a.token });
    assert.equal(partial.status, 404);
    assert.match(partial.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal((await api.request('GET', '/v1/users', { token: a.token })).status, 400, 'no listing of all users');
    assert.equal((await api.request('GET', `/v1/users?username=${b.username}`)).status, 401);
  });

  it('refuses service clients as conversation members', async () => {
    const tok = await api.request('POST', '/auth/token', { body: { client_id: 'demo-client', client_secret: 'demo-secret' } });
    const res = await api.request('POST', '/v1/conversations', { token: tok.body.access_token, body: { type: 'group', members: [] } });
    assert.equal(res.status, 403);
  });
});

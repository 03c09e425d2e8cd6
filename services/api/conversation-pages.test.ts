import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './test-api.ts';

describe('GET /v1/conversations pages', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('answers pages of `limit` and a next_cursor to follow until it is null, each conversation once', async () => {
    const me = await api.user();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const other = await api.user();
      const c = await api.request('POST', '/v1/conversations', { token: me.token, body: { type: 'private', members: [other.user_id] } });
      created.push(c.body.conversation_id);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.request('GET', `/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: me.token });
      assert.equal(res.status, 200, res.text);
      sizes.push(res.body.conversations.length);
      seen.push(...res.body.conversations.map((c: { conversation_id: string }) => c.conversation_id));
      cursor = res.body.next_cursor;
    } while (cursor !== null && sizes.length < 10);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, [...created].sort());

    // Without parameters: the first page (all five here), as clients that never paged expect.
    const all = await api.request('GET', '/v1/conversations', { token: me.token });
    assert.equal(all.body.conversations.length, 5);
    assert.equal(all.body.next_cursor, null);
  });

  it('refuses a bad limit or cursor with a 400 problem', async () => {
    const me = await api.user();
    for (const q of ['limit=0', 'limit=201', 'limit=x', 'cursor=not%20a%20cursor', 'cursor=', 'cursor=_w', `cursor=${'A'.repeat(300)}`]) {
      const res = await api.request('GET', `/v1/conversations?${q}`, { token: me.token });
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
  });
});

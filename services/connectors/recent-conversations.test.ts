import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conversation } from '../core/domain/types.ts';
import { recentConversations } from './recent-conversations.ts';

describe('recentConversations: conversations read again only after a short while', () => {
  const conversation = (id: string, members: string[]): Conversation => ({ conversation_id: id, type: 'group', members, name: null, metadata: null, created_at: '2026-01-01T00:00:00.000Z' });

  it('answers from memory within the TTL, reads again after it, and never keeps a miss', async () => {
    let now = 0;
    let reads = 0;
    const members = new Map([['c1', ['a', 'b']]]);
    const cached = recentConversations(
      { getConversation: async (id) => (reads++, members.has(id) ? conversation(id, members.get(id)!) : null) },
      { now: () => now },
      { ttlMs: 1000 },
    );
    assert.deepEqual((await cached.getConversation('c1'))?.members, ['a', 'b']);
    members.set('c1', ['a', 'b', 'c']);
    now = 999;
    assert.deepEqual((await cached.getConversation('c1'))?.members, ['a', 'b'], 'within the TTL: not read again');
    assert.equal(reads, 1);
    now = 1000;
    assert.deepEqual((await cached.getConversation('c1'))?.members, ['a', 'b', 'c'], 'after the TTL: the new member is seen');
    assert.equal(reads, 2);

    assert.equal(await cached.getConversation('c2'), null);
    members.set('c2', ['d']);
    assert.deepEqual((await cached.getConversation('c2'))?.members, ['d'], 'a miss is read again at once');
  });

  it('reads again after a failed read and keeps at most maxEntries', async () => {
    let fail = true;
    let reads = 0;
    const cached = recentConversations(
      {
        getConversation: async (id) => {
          reads++;
          if (fail) throw new Error('store down');
          return conversation(id, ['a']);
        },
      },
      { now: () => 0 },
      { ttlMs: 1000, maxEntries: 2 },
    );
    await assert.rejects(cached.getConversation('c1'));
    fail = false;
    assert.ok(await cached.getConversation('c1'));
    for (const id of ['c2', 'c3']) await cached.getConversation(id);
    const before = reads;
    await cached.getConversation('c3');
    assert.equal(reads, before, 'the newest is kept');
    await cached.getConversation('c1');
    assert.equal(reads, before + 1, 'the oldest went');
  });
});

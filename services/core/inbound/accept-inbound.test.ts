import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStores } from '../adapters/sqlite/open-sqlite-stores.ts';
import { InMemoryBus } from '../adapters/in-memory-bus.ts';
import { createLogger } from '../logger.ts';
import { acceptInbound, inboundMessageId, type AcceptInboundDeps, type InboundMessage } from './accept-inbound.ts';

function setup() {
  const stores = openSqliteStores(':memory:');
  let now = Date.parse('2026-12-03T10:00:00Z');
  const deps: AcceptInboundDeps = {
    users: stores.users,
    conversations: stores.conversations,
    messages: stores.messages,
    bus: new InMemoryBus(4, 10),
    clock: { now: () => now },
    logger: createLogger('test', 'silent'),
    defaultMembers: { whatsapp: ['alice'], instagram: ['bob'] },
  };
  return { stores, deps, advance: (ms: number) => (now += ms) };
}

const text = (from: string, id: string, body = 'hi'): InboundMessage => ({
  channel: 'whatsapp',
  from,
  profile_name: 'Maria',
  provider_message_id: id,
  provider_timestamp: '2026-12-03T09:59:59Z',
  payload: { type: 'text', text: body },
});

test('an unknown address becomes a contact in a conversation with the default members', async () => {
  const { stores, deps } = setup();
  const alice = await stores.users.createUser({ user_id: 'u-alice', username: 'alice', password_hash: 'x', created_at: '2026-12-03T00:00:00Z' });
  const r = await acceptInbound(deps, text('5511999990000', 'wamid.1'));
  assert.equal(r.created, true);
  assert.equal(r.message_id, inboundMessageId('whatsapp', 'wamid.1'));
  const conversation = await stores.conversations.getConversation(r.conversation_id);
  assert.deepEqual(conversation?.members, [r.sender_id, alice.user_id]);
  assert.equal((await stores.users.findIdentity('whatsapp', '5511999990000'))?.user_id, r.sender_id);
  const again = await acceptInbound(deps, text('5511999990000', 'wamid.2'));
  assert.equal(again.sender_id, r.sender_id);
  assert.equal(again.conversation_id, r.conversation_id);
  const dup = await acceptInbound(deps, text('5511999990000', 'wamid.1'));
  assert.deepEqual(dup, { ...r, created: false });
  assert.equal((await stores.messages.listUnrouted('2100-01-01T00:00:00Z', 10)).length, 2);
});

import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { createLogger } from '../core/logger.ts';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../core/ports/stores.ts';
import { listConversationMessages } from './message-queries.ts';

/** Wraps a port so that every method call is counted by name. */
function counted<T extends object>(port: T, calls: Map<string, number>): T {
  return new Proxy(port, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('listing a conversation’s messages', () => {
  const stores: Stores = openSqliteStores(':memory:');
  after(() => stores.close());

  it('reads a page of 50 messages with a fixed number of store calls, not one per message', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const conversation_id = randomUUID();
    const at = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: at });
    for (let i = 0; i < 50; i++) {
      const message_id = randomUUID();
      await stores.messages.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: `m${i}` }, channels: ['all'],
        metadata: null, body_hash: `h${i}`, trace_id: 't', created_at: at,
      });
      await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'internal', address: null }, { recipient_id: b, channel: 'whatsapp', address: '+55' }], at);
    }
    const calls = new Map<string, number>();
    const deps = {
      conversations: counted(stores.conversations, calls),
      messages: counted(stores.messages, calls),
      deliveries: counted(stores.deliveries, calls),
      users: stores.users,
      contacts: stores.contacts,
      clock: { now: () => Date.now() },
      bus: new InMemoryBus(4),
      logger: createLogger('test', 'silent'),
    };
    const page = { limit: 50, after_seq: 0 };

    const first = await listConversationMessages(deps, { sub: b, role: 'user' }, conversation_id, page);
    assert.equal(first.messages.length, 50);
    for (const m of first.messages) {
      assert.deepEqual(m.deliveries.map((d: { channel: string; status: string }) => `${d.channel}:${d.status}`).sort(), ['internal:DELIVERED', 'whatsapp:SENT'], 'the page shows the marks it made');
    }
    // The first fetch marks each internal delivery DELIVERED (a write per delivery that changes);
    // every read is one call for the whole page.
    assert.deepEqual(Object.fromEntries(calls), { getConversation: 1, listMessages: 1, deliveriesFor: 1, applyStatus: 50, listDeliveriesOfMessages: 1 });

    calls.clear();
    const again = await listConversationMessages(deps, { sub: b, role: 'user' }, conversation_id, page);
    assert.equal(again.messages.length, 50);
    assert.deepEqual(Object.fromEntries(calls), { getConversation: 1, listMessages: 1, deliveriesFor: 1, listDeliveriesOfMessages: 1 }, 'nothing left to mark: four reads');
  });
});

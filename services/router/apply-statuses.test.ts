import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createLogger } from '../core/logger.ts';
import { TOPICS } from '../core/topics.ts';
import type { OutgoingRecord } from '../core/ports/bus.ts';
import type { MessageStatusEvent } from '../core/realtime-events.ts';
import { createRouterMetrics } from './metrics.ts';
import { applyStatuses } from './apply-status.ts';

describe('applying a fetched batch of the gateways’ status events', () => {
  it('applies them in order in one store call and tells the gateways in one publish, naming the members in a header', async () => {
    const stores = openSqliteStores(':memory:');
    const bus = new InMemoryBus(12, 10);
    const publishes: OutgoingRecord[][] = [];
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, records) => {
      if (topic === TOPICS.realtime) publishes.push(records);
      return publish(topic, records);
    };
    let storeCalls = 0;
    const many = stores.deliveries.applyStatuses.bind(stores.deliveries);
    stores.deliveries.applyStatuses = (events) => (storeCalls++, many(events));
    const deps = { ...stores, bus, clock: { now: () => Date.now() }, logger: createLogger('test', 'silent'), metrics: createRouterMetrics(new Registry()) };
    try {
      const at = new Date().toISOString();
      const [a, b] = [randomUUID(), randomUUID()];
      const conversation_id = randomUUID();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: at });
      const message_id = randomUUID();
      await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['internal'], metadata: null, body_hash: 'h', trace_id: 't', created_at: at });
      const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'internal', address: null }], at);
      const delivery_id = routed.deliveries[0]!.delivery_id;
      const later = new Date(Date.now() + 1000).toISOString();

      // DELIVERED then READ, and a repeated DELIVERED (forward only: ignored, not told again).
      const applied = await applyStatuses(deps, [
        { delivery_id, status: 'DELIVERED', at, source: 'gateway' },
        { delivery_id, status: 'READ', at: later, source: 'gateway' },
        { delivery_id, status: 'DELIVERED', at: later, source: 'gateway' },
      ]);
      assert.deepEqual(applied, [true, true, false]);
      assert.equal(storeCalls, 1, 'one store call for the batch');
      assert.equal(publishes.length, 1, 'one publish for the batch');
      const told = publishes[0]!.map((r) => JSON.parse(r.value) as MessageStatusEvent);
      assert.deepEqual(told.map((e) => e.status), ['DELIVERED', 'READ']);
      assert.deepEqual(JSON.parse(publishes[0]![0]!.headers!.members!), [a, b]);
      assert.equal((await stores.deliveries.deliveriesFor(b, [message_id]))[0]!.status, 'READ');
    } finally {
      await bus.close();
      await stores.close();
    }
  });
});

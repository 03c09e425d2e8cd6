import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Bus, OutgoingRecord } from '../core/ports/bus.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { createConnectorMetrics } from './metrics.ts';
import { takeStatuses } from './status-intake.ts';
import { MEMBERS_HEADER } from '../core/publish-realtime.ts';
import { RecentSends } from './recent-sends.ts';

/** `target` with every method call counted by name. */
function counting<T extends object>(target: T, calls: Map<string, number>): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return value.apply(t, args);
      };
    },
  });
}

describe('takeStatuses: the statuses of one provider webhook', () => {
  it('reads a send named by several statuses of the webhook once, applies them all, and tells the members of each', async () => {
    const stores = openSqliteStores(':memory:');
    try {
      const [alice, bob, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const now = new Date().toISOString();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [alice, bob], name: null, metadata: null, created_at: now });
      await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: alice, payload: { type: 'text', text: 'oi' }, channels: ['all'], metadata: null, body_hash: 'h', trace_id: 'trace-1', created_at: now });
      const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address: '+5511' }], now);
      const delivery_id = routed.deliveries[0]!.delivery_id;
      await stores.deliveries.recordProviderRef(delivery_id, 'wamid.1');

      const calls = new Map<string, number>();
      const published: OutgoingRecord[] = [];
      const bus = { publish: async (_topic: string, records: OutgoingRecord[]) => void published.push(...records) } as unknown as Bus;
      await takeStatuses(
        {
          config: { providerStatusMatchWindowMs: 60_000 },
          messages: counting(stores.messages, calls),
          deliveries: counting(stores.deliveries, calls),
          conversations: stores.conversations,
          bus,
          clock: { now: () => Date.now() },
          logger: createLogger('connectors', 'silent'),
          metrics: createConnectorMetrics(createRegistry('connectors-test')),
        },
        { channel: 'whatsapp' } as ChannelConnector,
        (['SENT', 'DELIVERED', 'READ'] as const).map((status) => ({ provider_message_id: 'wamid.1', reference: delivery_id, status, at: now })),
      );

      assert.equal(calls.get('findDeliveryByProviderRef'), 1, 'one look-up for the three statuses of one send');
      assert.equal(calls.get('getMessage'), 1);
      assert.equal(calls.get('applyStatuses'), 1);
      assert.equal((await stores.deliveries.getDelivery(delivery_id))!.status, 'READ');
      assert.deepEqual((await stores.messages.history(message_id)).filter((h) => h.delivery_id === delivery_id).map((h) => h.status), ['SENT', 'DELIVERED', 'READ']);
      assert.equal(published.length, 3, 'each status told to the gateways');
      assert.ok(published.every((r) => r.key === conversation_id && r.headers?.trace_id === 'trace-1'));
      // The members header lets a gateway skip, undecoded, a status nobody connected to it is told.
      assert.ok(published.every((r) => JSON.stringify(JSON.parse(r.headers?.[MEMBERS_HEADER] ?? 'null')) === JSON.stringify([alice, bob])), 'the members header names both members');
    } finally {
      await stores.close();
    }
  });

  it('matches the statuses of a send this process made lately without reading its delivery or its message', async () => {
    const stores = openSqliteStores(':memory:');
    try {
      const [alice, bob, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const now = new Date().toISOString();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [alice, bob], name: null, metadata: null, created_at: now });
      await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: alice, payload: { type: 'text', text: 'oi' }, channels: ['all'], metadata: null, body_hash: 'h', trace_id: 'trace-2', created_at: now });
      const delivery_id = (await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address: '+5511' }], now)).deliveries[0]!.delivery_id;
      await stores.deliveries.recordProviderRef(delivery_id, 'wamid.2');
      const recentSends = new RecentSends();
      recentSends.note('whatsapp', 'wamid.2', { delivery_id, created_at: now, trace_id: 'trace-2' }, Promise.resolve(true));

      const calls = new Map<string, number>();
      const published: OutgoingRecord[] = [];
      const bus = { publish: async (_topic: string, records: OutgoingRecord[]) => void published.push(...records) } as unknown as Bus;
      const metrics = createConnectorMetrics(createRegistry('connectors-test'));
      await takeStatuses(
        {
          config: { providerStatusMatchWindowMs: 60_000 },
          messages: counting(stores.messages, calls),
          deliveries: counting(stores.deliveries, calls),
          conversations: stores.conversations,
          bus,
          clock: { now: () => Date.now() },
          logger: createLogger('connectors', 'silent'),
          metrics,
          recentSends,
        },
        { channel: 'whatsapp' } as ChannelConnector,
        (['SENT', 'DELIVERED'] as const).map((status) => ({ provider_message_id: 'wamid.2', reference: delivery_id, status, at: now })),
      );

      assert.equal(calls.get('findDeliveryByProviderRef'), undefined, 'no look-up of the delivery');
      assert.equal(calls.get('getMessage'), undefined, 'no read of the message');
      assert.equal(calls.get('applyStatuses'), 1);
      assert.equal((await stores.deliveries.getDelivery(delivery_id))!.status, 'DELIVERED');
      assert.deepEqual(published.map((r) => [r.key, r.headers?.trace_id]), [[conversation_id, 'trace-2'], [conversation_id, 'trace-2']]);
      const latency = (await metrics.deliveryLatency.get()).values.find((v) => v.metricName?.endsWith('_count'));
      assert.equal(latency?.value, 1, 'the delivery latency observed from the remembered time');
    } finally {
      await stores.close();
    }
  });

  it('waits for the write of a provider id under way instead of taking a status that comes first for a lost answer', async () => {
    const stores = openSqliteStores(':memory:');
    try {
      const [alice, bob, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const now = new Date().toISOString();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [alice, bob], name: null, metadata: null, created_at: now });
      await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: alice, payload: { type: 'text', text: 'oi' }, channels: ['all'], metadata: null, body_hash: 'h', trace_id: 'trace-3', created_at: now });
      const delivery_id = (await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address: '+5511' }], now)).deliveries[0]!.delivery_id;
      // The provider answered; the write of its id is still to come when its first status arrives.
      let write!: () => void;
      const recorded = new Promise<void>((r) => (write = r)).then(() => stores.deliveries.recordProviderRef(delivery_id, 'wamid.3'));
      const recentSends = new RecentSends();
      recentSends.note('whatsapp', 'wamid.3', { delivery_id, created_at: now, trace_id: 'trace-3' }, recorded);

      const calls = new Map<string, number>();
      const bus = { publish: async () => undefined } as unknown as Bus;
      const metrics = createConnectorMetrics(createRegistry('connectors-test'));
      const taken = takeStatuses(
        {
          config: { providerStatusMatchWindowMs: 60_000 },
          messages: counting(stores.messages, calls),
          deliveries: counting(stores.deliveries, calls),
          conversations: stores.conversations,
          bus,
          clock: { now: () => Date.now() },
          logger: createLogger('connectors', 'silent'),
          metrics,
          recentSends,
        },
        { channel: 'whatsapp' } as ChannelConnector,
        [{ provider_message_id: 'wamid.3', reference: delivery_id, status: 'DELIVERED', at: now }],
      );
      await new Promise((r) => setImmediate(r));
      write();
      await taken;

      for (const read of ['findDeliveryByProviderRef', 'getDelivery', 'recordProviderRef']) assert.equal(calls.get(read), undefined, read);
      assert.equal((await stores.deliveries.getDelivery(delivery_id))!.status, 'DELIVERED');
      const recovered = (await metrics.ambiguous.get()).values.find((v) => v.labels.outcome === 'recovered');
      assert.equal(recovered?.value ?? 0, 0, 'not counted as a send recovered from its echo');
    } finally {
      await stores.close();
    }
  });
});

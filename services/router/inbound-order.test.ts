import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { createLogger } from '../core/logger.ts';
import { acceptInbound, type InboundMessage } from '../core/inbound/accept-inbound.ts';
import { createRouterMetrics } from './metrics.ts';
import { routeMessage, routeMessages } from './route-message.ts';

const WINDOW = 2000;

async function platform(window = WINDOW) {
  const stores = openSqliteStores(':memory:');
  const clock = { t: Date.parse('2026-12-03T10:00:00Z'), now() { return this.t; } };
  const bus = new InMemoryBus(4, 10);
  const logger = createLogger('test', 'silent');
  const registry = new Registry();
  const slept: number[] = [];
  const router = {
    ...stores, bus, clock, logger, metrics: createRouterMetrics(registry), deadLetterMetrics: createDeadLetterMetrics(registry), maxBatchBytes: 512 * 1024,
    inboundReorderWindowMs: window,
    // Waiting moves the test's clock: no real sleeps.
    sleep: async (ms: number) => {
      slept.push(ms);
      clock.t += ms;
    },
  };
  const alice = await stores.users.createUser({ user_id: 'u-alice', username: 'alice', password_hash: 'x', created_at: '2026-12-01T00:00:00Z' });
  const bob = await stores.users.createUser({ user_id: 'u-bob', username: 'bob', password_hash: 'x', created_at: '2026-12-01T00:00:00Z' });
  await stores.users.linkIdentity({ user_id: bob.user_id, channel: 'instagram', address: 'ig-bob', linked_at: '2026-12-01T00:00:00Z' });
  const inbound = {
    ...stores, bus, clock, logger, publishWaitMs: 0,
    settings: { defaultMembers: { whatsapp: ['alice', 'bob'] }, replyWindowMs: 24 * 3_600_000 },
  };
  return { stores, clock, router, inbound, alice, bob, slept };
}

const fromMaria = (id: string, sentAt: string): InboundMessage => ({
  channel: 'whatsapp', from: '5511900000001', profile_name: 'Maria', provider_message_id: id,
  provider_timestamp: sentAt, payload: { type: 'text', text: id },
});

describe('routing inbound messages', () => {
  it('orders a shuffled, duplicated inbound stream by provider time, once each', async () => {
    const { stores, clock, router, inbound } = await platform();
    // Sent 1, 2, 3 a second apart; the webhooks come 3, 1, 3 (again), 2, each 300 ms after the last.
    const sent = { m1: '2026-12-03T09:59:50Z', m2: '2026-12-03T09:59:51Z', m3: '2026-12-03T09:59:52Z' };
    const arrivals = (['m3', 'm1', 'm3', 'm2'] as const).map((id) => fromMaria(`wamid.${id}`, sent[id]));
    const records: string[] = [];
    for (const a of arrivals) {
      records.push((await acceptInbound(inbound, a)).message_id);
      clock.t += 300;
    }
    // The router takes the records in arrival order, as the bus hands them over.
    for (const id of records) await routeMessage(router, id);
    const conversation_id = (await stores.messages.getMessage(records[0]!))!.conversation_id;
    const history = await stores.messages.listMessages(conversation_id, 0, 10);
    assert.deepEqual(history.map((m) => (m.payload.type === 'text' ? m.payload.text : '')), ['wamid.m1', 'wamid.m2', 'wamid.m3']);
    assert.deepEqual(history.map((m) => m.seq), [1, 2, 3]);
    const hold = (await router.metrics.inboundHold.get()).values.find((v) => v.metricName === 'router_inbound_hold_seconds_count');
    assert.ok((hold?.value ?? 0) >= 1, 'the wait is counted');
  });

  it('orders them by provider time when the router takes them as one fetched batch', async () => {
    const { stores, clock, router, inbound } = await platform();
    const sent = { m1: '2026-12-03T09:59:50Z', m2: '2026-12-03T09:59:51Z', m3: '2026-12-03T09:59:52Z' };
    const records: string[] = [];
    for (const id of ['m3', 'm1', 'm2'] as const) {
      records.push((await acceptInbound(inbound, fromMaria(`wamid.${id}`, sent[id]))).message_id);
      clock.t += 300;
    }
    // One fetch hands the router the three records: the batch path must not skip the reorder window.
    await routeMessages(router, records);
    const conversation_id = (await stores.messages.getMessage(records[0]!))!.conversation_id;
    const history = await stores.messages.listMessages(conversation_id, 0, 10);
    assert.deepEqual(history.map((m) => (m.payload.type === 'text' ? m.payload.text : '')), ['wamid.m1', 'wamid.m2', 'wamid.m3']);
  });

  it('delivers an inbound message to every other member on their channels, never back to its sender', async () => {
    const { stores, router, inbound, alice, bob } = await platform(0);
    const r = await acceptInbound(inbound, fromMaria('wamid.x', '2026-12-03T09:59:59Z'));
    assert.equal(await routeMessage(router, r.message_id), 'routed');
    const deliveries = await stores.deliveries.listDeliveries(r.message_id);
    assert.deepEqual(
      deliveries.map((d) => `${d.recipient_id}/${d.channel}/${d.address ?? ''}`).sort(),
      [`${alice.user_id}/internal/`, `${bob.user_id}/instagram/ig-bob`, `${bob.user_id}/internal/`],
    );
  });

  it('holds an inbound message at most the window, then orders by arrival what came later than that', async () => {
    const { stores, clock, router, inbound, slept } = await platform();
    const late = fromMaria('wamid.late', '2026-12-03T09:00:00Z');
    const first = await acceptInbound(inbound, fromMaria('wamid.first', '2026-12-03T09:59:00Z'));
    await routeMessage(router, first.message_id);
    assert.ok(slept.reduce((a, b) => a + b, 0) <= WINDOW, 'held no longer than the window');
    clock.t += WINDOW;
    const second = await acceptInbound(inbound, late);
    await routeMessage(router, second.message_id);
    const history = await stores.messages.listMessages(first.conversation_id, 0, 10);
    assert.deepEqual(history.map((m) => m.message_id), [first.message_id, second.message_id], 'beyond the window: arrival order');
  });

  it('lets an API message sent after a held inbound one wait for it', async () => {
    const { stores, clock, router, inbound, alice } = await platform();
    const r = await acceptInbound(inbound, fromMaria('wamid.q', new Date(clock.now() - 500).toISOString()));
    clock.t += 100;
    await stores.messages.acceptMessage({
      message_id: 'api-1', conversation_id: r.conversation_id, sender_id: alice.user_id, payload: { type: 'text', text: 'answer' },
      channels: ['all'], metadata: null, body_hash: 'h', trace_id: 't', created_at: new Date(clock.now()).toISOString(),
    });
    // The API message's record is handled first (another partition order, a relay): it still comes second.
    await routeMessage(router, 'api-1');
    const history = await stores.messages.listMessages(r.conversation_id, 0, 10);
    assert.deepEqual(history.map((m) => m.message_id), [r.message_id, 'api-1']);
  });
});

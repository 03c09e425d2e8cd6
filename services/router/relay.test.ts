import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import type { OffsetReader } from '../core/consumer-lag.ts';
import { createLogger } from '../core/logger.ts';
import { partitionFor } from '../core/partitioner.ts';
import { GROUPS, TOPICS } from '../core/topics.ts';
import { createRouterMetrics } from './metrics.ts';
import { startRelay } from './relay.ts';
import { BusPositions } from './bus-positions.ts';

/** Offsets set by the test: one topic, 12 partitions. */
function fakeReader() {
  const high = new Map<number, bigint>();
  const committed = new Map<number, bigint>();
  let failing = false;
  const reader: OffsetReader = {
    latestOffsets: async () => {
      if (failing) throw new Error('broker unreachable');
      return new Map(Array.from({ length: 12 }, (_, p) => [p, { low: 0n, high: high.get(p) ?? 0n }]));
    },
    committedOffsets: async () => {
      if (failing) throw new Error('broker unreachable');
      return new Map(committed);
    },
    close: async () => undefined,
  };
  return { reader, high, committed, fail: (f: boolean) => (failing = f) };
}

const accepted = { group: GROUPS.router, topic: TOPICS.accepted };

describe('BusPositions', () => {
  it('a record published before a reading is queued until the group commits past that reading’s watermark', async () => {
    const f = fakeReader();
    const pos = new BusPositions(f.reader, [accepted]);
    f.high.set(3, 100n);
    f.committed.set(3, 40n);
    await pos.observe(1000);
    assert.equal(pos.stillQueued(accepted, 3, 900), true, 'committed 40 < watermark 100');
    f.high.set(3, 150n); // more records behind it
    f.committed.set(3, 100n);
    await pos.observe(2000);
    assert.equal(pos.stillQueued(accepted, 3, 900), false, 'the group went past the watermark of the first reading after the publish');
    assert.equal(pos.stillQueued(accepted, 3, 1500), true, 'a later record is judged by the later reading (watermark 150)');
  });

  it('a log that went backwards (the broker lost its data) means lost, not queued', async () => {
    const f = fakeReader();
    const pos = new BusPositions(f.reader, [accepted]);
    f.high.set(0, 500n);
    f.committed.set(0, 10n);
    await pos.observe(1000);
    assert.equal(pos.stillQueued(accepted, 0, 500), true);
    f.high.set(0, 3n);
    f.committed.delete(0);
    await pos.observe(2000);
    assert.equal(pos.stillQueued(accepted, 0, 500), false);
  });

  it('a broker that lost its log while unreadable: what was published before is lost, even once the new log grew past the old watermark', async () => {
    const f = fakeReader();
    const pos = new BusPositions(f.reader, [accepted]);
    f.high.set(0, 100n);
    f.committed.set(0, 10n);
    await pos.observe(1000);
    assert.equal(pos.stillQueued(accepted, 0, 500), true);
    f.fail(true); // down …
    await assert.rejects(pos.observe(2000));
    f.fail(false); // … back empty; 150 new records arrive before the next reading
    f.high.set(0, 150n);
    f.committed.set(0, 0n);
    f.high.set(1, 1n);
    await pos.observe(3000);
    assert.equal(pos.stillQueued(accepted, 0, 500), false, 'published before the loss');
    assert.equal(pos.stillQueued(accepted, 0, 3500), true, 'published after it, still ahead of the group');
  });

  it('knows nothing without a reading, or after a failed one', async () => {
    const f = fakeReader();
    const pos = new BusPositions(f.reader, [accepted]);
    assert.equal(pos.stillQueued(accepted, 0, 0), false);
    f.high.set(0, 10n);
    await pos.observe(1000);
    assert.equal(pos.stillQueued(accepted, 0, 500), true);
    f.fail(true);
    await assert.rejects(pos.observe(2000), /unreachable/);
    assert.equal(pos.stillQueued(accepted, 0, 500), false);
  });
});

describe('outbox relay', () => {
  async function setUp(opts: { owned?: Set<number> | null; reader?: OffsetReader }) {
    const stores = openSqliteStores(':memory:');
    const bus = new InMemoryBus(12);
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = { now: () => now };
    const registry = new Registry();
    const metrics = createRouterMetrics(registry);
    const deps = { messages: stores.messages, deliveries: stores.deliveries, bus, clock, logger: createLogger('test', 'silent'), metrics, maxBatchBytes: 512 * 1024 };
    const republished: string[] = [];
    const sub = await bus.subscribe({ group: 'spy', topics: [TOPICS.accepted], handler: async (m) => void republished.push(JSON.parse(m.value).message_id) });
    const relay = startRelay(deps, { intervalMs: 3_600_000, ageMs: 5000, partitions: 12, positions: opts.reader, owned: () => opts.owned ?? null });
    const a = randomUUID();
    const b = randomUUID();
    const accept = async (conversationId: string) => {
      const message_id = randomUUID();
      await stores.messages.acceptMessage({
        message_id, conversation_id: conversationId, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['all'],
        metadata: null, body_hash: 'h', trace_id: 't', created_at: new Date(now).toISOString(),
      });
      return message_id;
    };
    const conversation = async () => {
      const conversation_id = randomUUID();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: new Date(now).toISOString() });
      return conversation_id;
    };
    const settle = () => new Promise((r) => setTimeout(r, 50));
    return {
      relay, accept, conversation, republished, metrics, registry, settle,
      advance: (ms: number) => (now += ms),
      async close() {
        await relay.stop();
        await sub.stop();
        await stores.close();
      },
    };
  }

  it('leaves an old unrouted message alone while it waits in the bus, and publishes it again once the routers went past it', async () => {
    const f = fakeReader();
    const t = await setUp({ reader: f.reader });
    try {
      const c = await t.conversation();
      const p = partitionFor(c, 12);
      const id = await t.accept(c);
      f.high.set(p, 50n); // the record is somewhere below 50
      f.committed.set(p, 20n);
      t.advance(6000);
      await t.relay.tick();
      t.advance(60_000); // a minute later, the routers still lag behind it
      await t.relay.tick();
      await t.settle();
      assert.deepEqual(t.republished, [], 'a backlog is not republished');
      assert.ok(((await t.registry.getSingleMetricAsString('relay_skipped_queued_total')).match(/ (\d+)$/m)?.[1] ?? '0') !== '0');
      f.committed.set(p, 50n); // the routers went past it and it is still unrouted: lost
      t.advance(1000);
      await t.relay.tick();
      await t.settle();
      assert.deepEqual(t.republished, [id]);
    } finally {
      await t.close();
    }
  });

  it('without offsets, relays by age alone; and only the conversations of the partitions it owns', async () => {
    const t = await setUp({ owned: new Set([0, 1, 2, 3, 4, 5]) });
    try {
      const mine: string[] = [];
      const others: string[] = [];
      for (let i = 0; i < 100 && (mine.length < 3 || others.length < 3); i++) {
        const c = await t.conversation();
        (partitionFor(c, 12) < 6 ? mine : others).push(await t.accept(c));
      }
      t.advance(6000);
      await t.relay.tick();
      await t.settle();
      assert.ok(mine.length > 0 && others.length > 0, 'both kinds of conversations were made');
      assert.deepEqual([...t.republished].sort(), [...mine].sort());
    } finally {
      await t.close();
    }
  });
});

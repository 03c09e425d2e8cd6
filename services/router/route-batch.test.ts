import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { createLogger } from '../core/logger.ts';
import { deliveryTopic } from '../core/topics.ts';
import type { DeliveryJob } from '../core/records.ts';
import type { OutgoingRecord } from '../core/ports/bus.ts';
import { createRouterMetrics } from './metrics.ts';
import { routeMessages } from './route-message.ts';

function setup() {
  const stores = openSqliteStores(':memory:');
  const bus = new InMemoryBus(12, 10);
  const publishes: OutgoingRecord[][] = [];
  const publish = bus.publish.bind(bus);
  bus.publish = async (topic, records) => {
    if (topic === deliveryTopic('whatsapp')) publishes.push(records);
    return publish(topic, records);
  };
  const calls = { batch: 0, single: 0 };
  const routeBatch = stores.messages.routeMessages.bind(stores.messages);
  const routeSingle = stores.messages.routeMessage.bind(stores.messages);
  stores.messages.routeMessages = (...args) => (calls.batch++, routeBatch(...args));
  stores.messages.routeMessage = (...args) => (calls.single++, routeSingle(...args));
  const registry = new Registry();
  const deps = {
    ...stores, bus, clock: { now: () => Date.now() }, logger: createLogger('test', 'silent'),
    metrics: createRouterMetrics(registry), deadLetterMetrics: createDeadLetterMetrics(registry), maxBatchBytes: 512 * 1024,
  };
  const at = new Date().toISOString();
  const conversation = async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await stores.users.linkIdentity({ user_id: b, channel: 'whatsapp', address: `+55${Math.floor(Math.random() * 1e9)}`, linked_at: at });
    const conversation_id = randomUUID();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: at });
    return { conversation_id, a };
  };
  const accept = async (conversation_id: string, sender_id: string) => {
    const message_id = randomUUID();
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: at,
    });
    return message_id;
  };
  return { stores, bus, deps, publishes, calls, conversation, accept };
}

describe('routing a fetched batch', () => {
  it('routes it in one store call and one publish, in acceptance order, lost records of a conversation first', async () => {
    const { stores, bus, deps, publishes, calls, conversation, accept } = setup();
    try {
      const one = await conversation();
      const two = await conversation();
      const m1 = await accept(one.conversation_id, one.a); // its record never comes
      const m2 = await accept(one.conversation_id, one.a);
      const n1 = await accept(two.conversation_id, two.a);
      const m3 = await accept(one.conversation_id, one.a);
      // m3's record before m2's: out of acceptance order, and a repeat of n1.
      await routeMessages(deps, [m3, n1, m2, n1]);
      const seqs = async (id: string) => (await stores.messages.getMessage(id))?.seq;
      assert.deepEqual([await seqs(m1), await seqs(m2), await seqs(m3), await seqs(n1)], [1, 2, 3, 1]);
      assert.deepEqual(calls, { batch: 1, single: 0 }, 'one store call for the batch');
      assert.equal(publishes.length, 1, 'one publish for the delivery jobs');
      const jobs = publishes[0]!.map((r) => JSON.parse(r.value) as DeliveryJob);
      assert.deepEqual(jobs.map((j) => j.message_id).sort(), [m1, m2, m3, n1].sort());
      assert.deepEqual(jobs.filter((j) => j.conversation_id === one.conversation_id).map((j) => j.seq), [1, 2, 3], 'jobs in seq order');

      // Routed again (a replayed batch): nothing changes, the jobs go out again.
      await routeMessages(deps, [m2]);
      assert.equal(await seqs(m2), 2);
    } finally {
      await bus.close();
      await stores.close();
    }
  });

  it('pays the emulated remote store (scale-routers experiment) one round trip per message of a batch', async () => {
    const { stores, bus, deps, conversation, accept } = setup();
    try {
      const one = await conversation();
      const ids = [await accept(one.conversation_id, one.a), await accept(one.conversation_id, one.a), await accept(one.conversation_id, one.a)];
      let trips = 0;
      await routeMessages({ ...deps, testOnly: { disableRecovery: false, storeRoundTrip: async () => void trips++ } }, ids);
      assert.equal(trips, 3);
    } finally {
      await bus.close();
      await stores.close();
    }
  });

  it('routes the batches of several partitions in one turn, one refused by the store leaving the others whole', async () => {
    const { stores, bus, deps, conversation, accept } = setup();
    try {
      const [one, two] = [await conversation(), await conversation()];
      const [m1, m2, n1] = [await accept(one.conversation_id, one.a), await accept(one.conversation_id, one.a), await accept(two.conversation_id, two.a)];
      const gone = randomUUID();
      // The second batch passes the router's checks but names a message the store no longer finds.
      const results = await Promise.allSettled([
        stores.messages.routeMessages([{ messageId: m1, plan: [] }, { messageId: m2, plan: [] }], new Date().toISOString()),
        stores.messages.routeMessages([{ messageId: n1, plan: [] }, { messageId: gone, plan: [] }], new Date().toISOString()),
      ]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      const seqs = async (id: string) => (await stores.messages.getMessage(id))?.seq;
      assert.deepEqual([await seqs(m1), await seqs(m2), await seqs(n1)], [1, 2, null], 'the refused batch is undone whole, the other kept');
      await routeMessages(deps, [n1]);
      assert.equal(await seqs(n1), 1, 'and its seq is still free');
    } finally {
      await bus.close();
      await stores.close();
    }
  });

  it('refuses a batch naming a message the store does not have, before routing any of it', async () => {
    const { stores, bus, deps, conversation, accept } = setup();
    try {
      const one = await conversation();
      const m1 = await accept(one.conversation_id, one.a);
      await assert.rejects(routeMessages(deps, [m1, randomUUID()]), /does not have/);
      assert.equal((await stores.messages.getMessage(m1))?.seq, null);
    } finally {
      await bus.close();
      await stores.close();
    }
  });
});

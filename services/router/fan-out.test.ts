import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { createLogger } from '../core/logger.ts';
import { recordBytes } from '../core/record-batches.ts';
import { deliveryTopic } from '../core/topics.ts';
import type { DeliveryJob } from '../core/records.ts';
import type { BusMessage, OutgoingRecord } from '../core/ports/bus.ts';
import { createRouterMetrics } from './metrics.ts';
import { routeMessage } from './route-message.ts';

/** Kafka's default max message size (`message.max.bytes`). */
const BROKER_MAX_BYTES = 1024 * 1024;

describe('fan-out to a big group', () => {
  it('splits a 256-member group\'s 4 KB text into record sets under the broker\'s max message size, in order', async () => {
    const stores = openSqliteStores(':memory:');
    // The in-memory bus refuses what a broker would: more than 1 MiB of records for one partition in one publish.
    const bus = new InMemoryBus(12, 10, BROKER_MAX_BYTES);
    const publishes: OutgoingRecord[][] = [];
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, records) => {
      if (topic === deliveryTopic('whatsapp')) publishes.push(records);
      return publish(topic, records);
    };
    const registry = new Registry();
    const deps = {
      ...stores, bus, clock: { now: () => Date.now() }, logger: createLogger('test', 'silent'),
      metrics: createRouterMetrics(registry), deadLetterMetrics: createDeadLetterMetrics(registry), maxBatchBytes: 512 * 1024,
    };
    const at = new Date().toISOString();
    const members = Array.from({ length: 256 }, () => randomUUID());
    for (const [i, user_id] of members.entries()) {
      await stores.users.linkIdentity({ user_id, channel: 'whatsapp', address: `+55119${String(i).padStart(8, '0')}`, linked_at: at });
    }
    const conversation_id = randomUUID();
    await stores.conversations.createConversation({ conversation_id, type: 'group', members, name: 'everyone', metadata: null, created_at: at });
    const message_id = randomUUID();
    // 4096 characters, the most a text may have; "é" is two bytes in UTF-8.
    const text = 'é'.repeat(4096);
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: members[0]!, payload: { type: 'text', text }, channels: ['whatsapp'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: at,
    });

    const received: BusMessage[] = [];
    const sub = await bus.subscribe({ group: 'connector-spy', topics: [deliveryTopic('whatsapp')], handler: async (m) => void received.push(m) });
    try {
      assert.equal(await routeMessage(deps, message_id), 'routed');

      const total = publishes.flat().reduce((n, r) => n + recordBytes(r), 0);
      assert.ok(total > BROKER_MAX_BYTES, `the jobs (${total} bytes) are more than one broker message holds`);
      assert.ok(publishes.length >= 2, 'split into several publishes');
      for (const run of publishes) assert.ok(run.reduce((n, r) => n + recordBytes(r), 0) <= deps.maxBatchBytes);

      const deadline = Date.now() + 5000;
      while (received.length < 255 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const jobs = received.map((m) => JSON.parse(m.value) as DeliveryJob);
      assert.equal(jobs.length, 255, 'one job per recipient, none lost');
      assert.deepEqual(jobs.map((j) => j.recipient_id), members.slice(1), 'in the order they were planned');
      assert.ok(jobs.every((j) => j.payload.type === 'text' && j.payload.text === text));
    } finally {
      await sub.stop();
      await bus.close();
      await stores.close();
    }
  });
});

/**
 * The relay's own offset-indexed copy of the logs (relay-log.c), against kafkajs: fetches it
 * answers return many small producer batches at once, intact and in order; a consumer below
 * what it keeps is served by the mock.
 * Run: node --import tsx --test services/devbroker/relay-log.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startDevBroker, type DevBroker } from './dev-broker.ts';

/** Rejects after ms with a message naming what timed out. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Seen {
  offset: string;
  key: string;
  value: string;
  header: string;
}

describe('dev broker relay: fetches served from its own log', { timeout: 180_000 }, () => {
  let broker: DevBroker | undefined;
  let kafka: Kafka;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    broker = await startDevBroker({
      topics: [
        { name: 'relaylog.small', partitions: 1 },
        { name: 'relaylog.retention', partitions: 1 },
        { name: 'relaylog.idle', partitions: 2 },
        { name: 'relaylog.acks0', partitions: 2 },
      ],
    });
    kafka = new Kafka({
      clientId: 'relaylog-test',
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      requestTimeout: 10_000,
    });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await within(10_000, 'cleanup', c()).catch(() => {});
    await broker?.stop();
  });

  /** Sends count records, each its own producer batch (one send each), inflight at a time. */
  async function produceOneByOne(topic: string, count: number, inflight: number, partition?: number): Promise<void> {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await producer.send({
          topic,
          acks: -1,
          messages: [{ key: `k${i % 7}`, value: `v${i}`, headers: { i: String(i) }, partition }],
        });
      }
    };
    await within(120_000, `produce ${count}`, Promise.all(Array.from({ length: inflight }, worker)));
  }

  /**
   * Reads the topic from the beginning until count records came; returns them and the batch
   * sizes. A consumer of every partition of the topic: one Fetch names them all.
   */
  async function consumeAll(topic: string, count: number): Promise<{ seen: Seen[]; batchSizes: number[] }> {
    const consumer = kafka.consumer({ groupId: `relaylog-${topic}`, maxWaitTimeInMs: 100, sessionTimeout: 6_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: Seen[] = [];
    const batchSizes: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count} within 120 s`)), 120_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            batchSizes.push(batch.messages.length);
            for (const m of batch.messages)
              seen.push({ offset: m.offset, key: String(m.key), value: String(m.value), header: String(m.headers?.i) });
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.stop();
    return { seen, batchSizes };
  }

  /** Every record once, at consecutive offsets from 0, with its key, value and header. */
  function assertIntact(seen: Seen[], count: number): void {
    assert.equal(seen.length, count);
    const ids = new Set<number>();
    seen.forEach((s, n) => {
      assert.equal(s.offset, String(n), `record ${n} at offset ${s.offset}`);
      const i = Number(s.value.slice(1));
      assert.equal(s.key, `k${i % 7}`);
      assert.equal(s.header, String(i));
      ids.add(i);
    });
    assert.equal(ids.size, count);
  }

  it('returns many small producer batches in one fetch, in order and intact', async () => {
    await produceOneByOne('relaylog.small', 300, 1);
    const { seen, batchSizes } = await consumeAll('relaylog.small', 300);
    assertIntact(seen, 300);
    // The mock alone returns one producer batch (here one record) per partition per fetch.
    assert.ok(Math.max(...batchSizes) > 1, `batch sizes ${batchSizes.slice(0, 20).join(',')}`);
  });

  it('answers a fetch that also names a partition nothing was produced to, and serves that partition once it gets records', async () => {
    await produceOneByOne('relaylog.idle', 300, 1, 0);
    const consumer = kafka.consumer({ groupId: 'relaylog-idle', maxWaitTimeInMs: 5_000, sessionTimeout: 6_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'relaylog.idle', fromBeginning: true });
    const seen: Seen[][] = [[], []];
    const batchSizes: number[] = [];
    let wake = () => {};
    await consumer.run({
      eachBatch: async ({ batch }) => {
        batchSizes.push(batch.messages.length);
        for (const m of batch.messages)
          seen[batch.partition]!.push({ offset: m.offset, key: String(m.key), value: String(m.value), header: String(m.headers?.i) });
        wake();
      },
    });
    const until = (what: string, done: () => boolean) =>
      within(60_000, what, new Promise<void>((resolve) => {
        wake = () => done() && resolve();
        wake();
      }));
    await until('300 records of partition 0', () => seen[0]!.length >= 300);
    assertIntact(seen[0]!, 300);
    // Partition 1 has no records: the relay learns that from the mock's first answer and
    // answers the next fetches of both partitions itself (the mock returns one batch each).
    assert.ok(Math.max(...batchSizes) > 1, `batch sizes ${batchSizes.slice(0, 20).join(',')}`);
    // The consumer now waits at offset 0 of partition 1: records produced there reach it,
    // in order (its empty log takes the appends from offset 0).
    await produceOneByOne('relaylog.idle', 50, 1, 1);
    await until('50 records of partition 1', () => seen[1]!.length >= 50);
    assertIntact(seen[1]!, 50);
    await consumer.stop();
  });

  it('serves a learned empty partition from the mock again after a produce the relay cannot follow (acks 0)', async () => {
    await produceOneByOne('relaylog.acks0', 20, 1, 0);
    const consumer = kafka.consumer({ groupId: 'relaylog-acks0', maxWaitTimeInMs: 200, sessionTimeout: 6_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'relaylog.acks0', fromBeginning: true });
    const seen: Seen[][] = [[], []];
    let wake = () => {};
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages)
          seen[batch.partition]!.push({ offset: m.offset, key: String(m.key), value: String(m.value), header: String(m.headers?.i) });
        wake();
      },
    });
    const until = (what: string, done: () => boolean) =>
      within(30_000, what, new Promise<void>((resolve) => {
        wake = () => done() && resolve();
        wake();
      }));
    await until('20 records of partition 0', () => seen[0]!.length >= 20);
    // Partition 1 has an empty log in the relay by now; records it cannot see appended must
    // not leave its consumer waiting at offset 0.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({
      topic: 'relaylog.acks0',
      acks: 0,
      messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}`, headers: { i: String(i) }, partition: 1 })),
    });
    await until('5 records of partition 1', () => seen[1]!.length >= 5);
    assert.deepEqual(seen[1]!.map((s) => s.offset), ['0', '1', '2', '3', '4']);
    await consumer.stop();
  });

  it('serves a consumer below what the relay keeps from the mock, then from the relay', async () => {
    const COUNT = 16_384 + 300; // more producer batches than the relay keeps per partition
    await produceOneByOne('relaylog.retention', COUNT, 64);
    const { seen, batchSizes } = await consumeAll('relaylog.retention', COUNT);
    assertIntact(seen, COUNT);
    assert.ok(Math.max(...batchSizes) > 1, 'the relay served the newer batches');
  });
});

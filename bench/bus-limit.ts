import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startDevBroker } from '../services/devbroker/dev-broker.ts';
import { delayedAssigner } from '../services/core/adapters/kafka/delayed-assigner.ts';
import { CpuSampler } from './cpu-sampler.ts';

export interface BusLimit {
  messages: number;
  partitions: number;
  value_bytes: number;
  /** Records acknowledged by the broker (acks=all) per second. */
  produce_per_s: number;
  /** Records produced and consumed per second, first send to last record consumed. */
  produce_consume_per_s: number;
  /** % of one core while it ran: the kafkajs client (producer and consumer, this process) and the broker. */
  cpu_percent: { kafkajs: number | null; broker: number | null };
}

/**
 * The dev broker's raw rate with kafkajs, the client the platform uses: one producer sending
 * batches (acks=all, as KafkaBus does) while one consumer group reads them back. A broker of its
 * own, on loopback, stopped at the end.
 */
export async function measureBusLimit(o: { messages: number; partitions?: number; batch?: number; concurrency?: number; timeoutMs?: number }): Promise<BusLimit> {
  const partitions = o.partitions ?? 12;
  const batch = o.batch ?? 500;
  const topic = `bench.raw.${randomBytes(3).toString('hex')}`;
  const broker = await startDevBroker({ topics: [{ name: topic, partitions }] });
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  // maxWait as the local platform's (KAFKA_MAX_WAIT_MS): the dev broker holds a fetch for the whole wait.
  const consumer = kafka.consumer({ groupId: `bench-${topic}`, maxWaitTimeInMs: 10, partitionAssigners: [delayedAssigner()] });
  // About the size of the platform's records (ids, conversation, trace id, timestamps).
  const value = JSON.stringify({ message_id: randomBytes(16).toString('hex'), conversation_id: randomBytes(16).toString('hex'), trace_id: randomBytes(16).toString('hex'), accepted_at: new Date().toISOString(), pad: 'x'.repeat(100) });
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let consumed = 0;
    let allConsumed!: () => void;
    const done = new Promise<void>((r) => (allConsumed = r));
    const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
    await consumer.run({
      partitionsConsumedConcurrently: partitions,
      eachBatch: async ({ batch: b }) => {
        consumed += b.messages.length;
        if (consumed >= o.messages) allConsumed();
      },
    });
    await joined;
    const cpu = new CpuSampler();
    cpu.start({ kafkajs: process.pid, broker: broker.pid });
    const t0 = performance.now();
    let sent = 0;
    const worker = async () => {
      while (sent < o.messages) {
        const n = Math.min(batch, o.messages - sent);
        const first = sent;
        sent += n;
        await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `c${(first + i) % 1000}`, value })) });
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
    const produced = performance.now();
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`consumed ${consumed} of ${o.messages} in time`)), o.timeoutMs ?? 60_000).unref());
    await Promise.race([done, timeout]);
    const finished = performance.now();
    const cpuPercent = cpu.stop();
    return {
      messages: o.messages,
      partitions,
      value_bytes: Buffer.byteLength(value),
      produce_per_s: Math.round(o.messages / ((produced - t0) / 1000)),
      produce_consume_per_s: Math.round(o.messages / ((finished - t0) / 1000)),
      cpu_percent: { kafkajs: cpuPercent.kafkajs ?? null, broker: cpuPercent.broker ?? null },
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await broker.stop();
  }
}

import type { OffsetReader } from '../../consumer-lag.ts';

/** The subset of kafkajs's `Admin` the lag reader uses. */
export interface KafkaAdminLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

/** An `OffsetReader` on a kafkajs admin client; connects lazily and again after a failure. */
export function kafkaOffsetReader(admin: KafkaAdminLike): OffsetReader {
  let connected: Promise<void> | null = null;
  const ready = () => (connected ??= admin.connect());
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    await ready();
    try {
      return await fn();
    } catch (err) {
      connected = null;
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
  };
  return {
    latestOffsets: (topic) =>
      guard(async () => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]))),
    committedOffsets: (group, topic) =>
      guard(async () => {
        const out = new Map<number, bigint>();
        for (const t of await admin.fetchOffsets({ groupId: group, topics: [topic] })) {
          // -1: nothing committed yet; the group starts from the beginning (fromBeginning): counted from `low`.
          for (const p of t.partitions) if (BigInt(p.offset) >= 0n) out.set(p.partition, BigInt(p.offset));
        }
        return out;
      }),
    close: async () => {
      connected = null;
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** Offsets to commit, as kafkajs takes them. */
export interface OffsetsToCommit {
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/**
 * One consumer's offset commits, gathered per turn of the event loop: the batches of several
 * partitions handled from one fetch each ask to commit, and they go as one OffsetCommit request
 * instead of one each (a request costs the consumer and the broker far more than a partition in
 * it). Every caller waits for the request that carries its offset and sees its failure.
 */
export class CommitCoalescer {
  private pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private send: ((offsets: OffsetsToCommit) => Promise<void>) | null = null;
  /** When each partition's offset was last sent (with `minIntervalMs`). */
  private readonly sentAt = new Map<string, number>();

  /**
   * @param minIntervalMs A partition's offset is committed at most once per this many ms; the
   *   commits asked for in between are dropped (`SubscribeOptions.commitIntervalMs`). @default 0 (every one)
   * @param now The clock (tests pass their own).
   */
  constructor(
    private readonly minIntervalMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Commits `offset` (the next one to read) of a partition with the others asked for in this turn.
   * `send` is the kafkajs commit of the asking batch; any of them commits for the whole group.
   */
  commit(topic: string, partition: number, offset: string, send: (offsets: OffsetsToCommit) => Promise<void>): Promise<void> {
    const key = `${topic}\u0000${partition}`;
    if (this.minIntervalMs > 0) {
      const now = this.now();
      if (now - (this.sentAt.get(key) ?? Number.NEGATIVE_INFINITY) < this.minIntervalMs) return Promise.resolve();
      this.sentAt.set(key, now);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.set(key, { topic, partition, offset });
      this.waiters.push({ resolve, reject });
      if (this.send === null) setImmediate(() => void this.flush());
      this.send = send;
    });
  }

  private async flush(): Promise<void> {
    const send = this.send!;
    const pending = [...this.pending.values()];
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    this.send = null;
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const p of pending) {
      const list = byTopic.get(p.topic) ?? [];
      list.push({ partition: p.partition, offset: p.offset });
      byTopic.set(p.topic, list);
    }
    try {
      await send({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}

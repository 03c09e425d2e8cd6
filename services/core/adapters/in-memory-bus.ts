import type { Bus, BusMessage, OutgoingRecord, SubscribeOptions, Subscription } from '../ports/bus.ts';
import { partitionFor } from '../partitioner.ts';
// The in-memory bus hands records to handlers exactly as the Kafka one does (retry pause, per-key order).
import { retryDelay } from './kafka/handler-retry.ts';
import { handleKeyed } from './kafka/keyed-batch.ts';
import { AppError } from '../errors.ts';
import { recordBytes } from '../record-batches.ts';

interface Topic {
  partitions: BusMessage[][];
}

interface Member {
  handler: SubscribeOptions['handler'];
  wake: () => void;
}

interface Group {
  /** Next offset to hand out, per topic and partition. */
  committed: Map<string, number[]>;
  members: Set<Member>;
}

/**
 * A bus inside one process, with Kafka's semantics where they matter: records keyed to
 * partitions, each partition handled in order by one member of a group, a record retried until
 * its handler succeeds. It keeps nothing across a restart: durability comes from the store.
 */
export class InMemoryBus implements Bus {
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private closed = false;

  /**
   * @param maxMessageBytes Largest set of records one publish may put on one partition (what a
   *   Kafka broker checks as `message.max.bytes`, 1 MiB by default); a bigger publish is refused,
   *   not retriable, and writes nothing. @default no limit
   */
  constructor(
    private readonly partitions = 12,
    private readonly retryDelayMs = 100,
    private readonly maxMessageBytes = Number.POSITIVE_INFINITY,
  ) {}

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = { partitions: Array.from({ length: this.partitions }, () => []) };
      this.topics.set(name, t);
    }
    return t;
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const t = this.topic(topic);
    if (Number.isFinite(this.maxMessageBytes)) {
      const perPartition = new Map<number, number>();
      for (const r of records) {
        const p = partitionFor(r.key, t.partitions.length);
        perPartition.set(p, (perPartition.get(p) ?? 0) + recordBytes(r));
      }
      for (const [p, bytes] of perPartition) {
        if (bytes > this.maxMessageBytes) {
          throw new AppError('message_too_large', `${bytes} bytes of records for ${topic}[${p}] in one publish; the bus takes at most ${this.maxMessageBytes}`, { retriable: false });
        }
      }
    }
    for (const r of records) {
      const partition = partitionFor(r.key, t.partitions.length);
      const list = t.partitions[partition]!;
      list.push({ topic, partition, offset: String(list.length), key: r.key, value: r.value, headers: r.headers ?? {} });
    }
    for (const g of this.groups.values()) for (const m of g.members) m.wake();
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    let group = this.groups.get(options.group);
    if (!group) {
      group = { committed: new Map(), members: new Set() };
      this.groups.set(options.group, group);
    }
    const g = group;
    for (const name of options.topics) {
      const t = this.topic(name);
      if (!g.committed.has(name)) g.committed.set(name, t.partitions.map((list) => (options.fromBeginning === false ? list.length : 0)));
    }
    // One member handles every partition of its topics; a partition is worked by one loop at a time.
    let stopped = false;
    const paused = new Set<string>();
    let wakeUp: (() => void) | null = null;
    const busy = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    const member: Member = {
      handler: options.handler,
      wake: () => {
        const w = wakeUp;
        wakeUp = null;
        w?.();
      },
    };
    g.members.add(member);
    const concurrency = options.concurrency ?? 4;
    options.onAssignment?.(Object.fromEntries(options.topics.map((t) => [t, Array.from({ length: this.partitions }, (_, i) => i)])));

    const keyWidth = options.keyConcurrency ?? 1;
    /** Handles one record until it succeeds; false once the member stops. */
    const handleOne = async (msg: BusMessage): Promise<boolean> => {
      while (!stopped) {
        try {
          await options.handler(msg);
          return true;
        } catch (err) {
          await new Promise((r) => setTimeout(r, retryDelay(err, this.retryDelayMs)));
        }
      }
      return false;
    };
    const drainPartition = async (name: string, p: number) => {
      const offsets = g.committed.get(name)!;
      const list = this.topic(name).partitions[p]!;
      while (!stopped && !paused.has(name) && offsets[p]! < list.length) {
        // Like a Kafka fetch: the records there now, at most 500, keys at once when asked.
        const batch = list.slice(offsets[p]!, offsets[p]! + 500);
        if (options.batchHandler) {
          // As on Kafka: the batch at once, and one record at a time when that fails.
          const done = await options.batchHandler(batch).then(
            () => true,
            () => false,
          );
          if (done) {
            offsets[p] = offsets[p]! + batch.length;
            continue;
          }
          if (stopped) return;
        }
        const finished = keyWidth > 1 ? await handleKeyed(batch, keyWidth, handleOne) : (await handleOne(batch[0]!)) ? 1 : 0;
        offsets[p] = offsets[p]! + finished;
      }
    };

    const loop = async () => {
      while (!stopped) {
        let started = false;
        for (const name of options.topics) {
          if (paused.has(name)) continue;
          const offsets = g.committed.get(name)!;
          const t = this.topic(name);
          for (let p = 0; p < t.partitions.length; p++) {
            const id = `${name}/${p}`;
            if (busy.has(id) || busy.size >= concurrency) continue;
            if (offsets[p]! >= t.partitions[p]!.length) continue;
            busy.add(id);
            started = true;
            const run = drainPartition(name, p).finally(() => {
              busy.delete(id);
              inFlight.delete(run);
              member.wake();
            });
            inFlight.add(run);
          }
        }
        if (!started) await new Promise<void>((r) => (wakeUp = r));
      }
    };
    const looping = loop();

    return {
      pause: (topic) => void paused.add(topic),
      resumeAtEnd: async (topic) => {
        if (!paused.delete(topic)) return;
        g.committed.set(topic, this.topic(topic).partitions.map((list) => list.length));
        member.wake();
      },
      stop: async () => {
        stopped = true;
        member.wake();
        await looping;
        await Promise.all([...inFlight]);
        g.members.delete(member);
      },
    };
  }

  async healthy(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

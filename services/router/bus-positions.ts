import type { OffsetReader } from '../core/consumer-lag.ts';

/** A consumer group and a topic it consumes. */
export interface Watched {
  group: string;
  topic: string;
}

interface Snapshot {
  at: number;
  /** The topic's latest offset (high watermark) per partition, read at `at`. */
  high: Map<number, bigint>;
}

interface Now {
  latest: Map<number, { low: bigint; high: bigint }>;
  committed: Map<number, bigint>;
}

/**
 * Tells the outbox relay whether a record it published (or the API published) may still be
 * waiting in the bus for its consumer, so that a backlog is not republished as if it were lost.
 *
 * Each `observe` reads every watched topic's high watermarks and its group's committed offsets.
 * A record published at time t sits below the high watermark of any snapshot taken after t; once
 * the group's committed offset on its partition reaches that watermark, the consumer has gone past
 * it: the record was handled, or it was lost. A high watermark lower than the snapshot's means
 * the broker lost its log (a restarted dev broker), so the record is lost too; so is anything
 * published before a reading that followed a failed one (the broker may have restarted unseen).
 * Without a fresh reading (no reader, a broker that does not answer) it knows nothing and says
 * "not queued".
 */
export class BusPositions {
  private readonly snaps = new Map<string, Snapshot[]>();
  /** When a topic's log was last seen going backwards: everything published before is lost. */
  private readonly resetAt = new Map<string, number>();
  private now = new Map<string, Now>();
  /** The last reading failed: the broker may have restarted (and lost its log) meanwhile. */
  private unreadable = false;

  constructor(
    private readonly reader: OffsetReader,
    private readonly watched: Watched[],
    /** How long snapshots are kept: records older than this are judged by the oldest one kept. */
    private readonly keepMs = 30 * 60_000,
  ) {}

  /** Reads the positions now; on failure forgets the previous reading and rethrows. */
  async observe(at: number): Promise<void> {
    const now = new Map<string, Now>();
    try {
      for (const w of this.watched) {
        const [latest, committed] = await Promise.all([this.reader.latestOffsets(w.topic), this.reader.committedOffsets(w.group, w.topic)]);
        now.set(key(w), { latest, committed });
        let list = this.snaps.get(key(w)) ?? [];
        const previous = list.at(-1);
        if (this.unreadable || (previous && [...latest].some(([p, o]) => o.high < (previous.high.get(p) ?? 0n)))) {
          // The broker lost its log (a restarted dev broker), or was out of sight long enough to
          // have: the old watermarks mean nothing now, and whatever was published before may be
          // gone, however far a new log has grown since (so age alone judges it).
          this.resetAt.set(key(w), at);
          list = [];
        }
        list.push({ at, high: new Map([...latest].map(([p, o]) => [p, o.high])) });
        while (list.length > 1 && list[0]!.at < at - this.keepMs) list.shift();
        this.snaps.set(key(w), list);
      }
      this.now = now;
      this.unreadable = false;
    } catch (err) {
      this.now = new Map();
      this.unreadable = true;
      throw err;
    }
  }

  /**
   * Whether a record published to `topic` partition `partition` at `publishedAt` (ms) is still
   * ahead of `group`'s committed offset. False when it is past it, when the log was lost, or when
   * nothing is known.
   */
  stillQueued(w: Watched, partition: number, publishedAt: number): boolean {
    const now = this.now.get(key(w));
    const list = this.snaps.get(key(w));
    if (!now || !list || list.length === 0) return false;
    if (publishedAt < (this.resetAt.get(key(w)) ?? -Infinity)) return false;
    // The first snapshot taken after the publish (the record lies below its watermark); for a
    // record older than every snapshot kept, the oldest one.
    const snap = list.find((s) => s.at >= publishedAt) ?? null;
    if (!snap) return true; // published after the latest reading: not seen by the bus positions yet
    const high = snap.high.get(partition);
    if (high === undefined) return false;
    const latest = now.latest.get(partition);
    if (!latest || latest.high < high) return false; // the log went backwards: the broker lost it
    const committed = now.committed.get(partition) ?? latest.low;
    return committed < high;
  }
}

const key = (w: Watched) => `${w.group}\u0000${w.topic}`;

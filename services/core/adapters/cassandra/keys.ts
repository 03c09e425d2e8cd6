import { randomInt } from 'node:crypto';
import { AppError } from '../../errors.ts';

/** History ids (and other time-ordered ids) are epoch ms × 1024 plus a per-process counter. */
export const IDS_PER_MS = 1024;
/** Width of one time bucket of the queue tables and the history feed. */
export const BUCKET_MS = 60_000;
/** Partitions per bucket, so one minute's writes spread over several replicas. */
export const SHARDS = 4;
/** A bucket is forgotten this long after it ended, once empty (longer than any write in flight). */
export const RETIRE_MARGIN_MS = 10 * 60_000;
/** Attempts of a compare-and-set loop before giving up with a retriable error. */
export const CAS_ATTEMPTS = 32;

/** Time-ordered ids that are unique within a process and, with high probability, across processes. */
export class TimeIds {
  private last = 0;
  constructor(private readonly now: () => number) {}
  next(): number {
    // A random start within the millisecond keeps two processes apart; +1 keeps one process monotonic.
    this.last = Math.max(this.last + 1, this.now() * IDS_PER_MS + randomInt(0, IDS_PER_MS / 2));
    return this.last;
  }
}

/** The smallest id made at `ms`. */
export const idAt = (ms: number) => ms * IDS_PER_MS;

/** FNV-1a: a stable shard for an id. */
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SHARDS;
}

/** The time bucket of an epoch-ms time. */
export const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS);

/** The history-feed bucket of a history id (the bucket of the time it was made at). */
export const feedBucketOf = (hid: number) => bucketOf(Math.floor(hid / IDS_PER_MS));

/** A sort key of a queue table with the time it stands for. */
export interface SortKey {
  key: string;
  ms: number;
}

/** ISO times sort as text (they all have the same width), as in the SQLite store. */
export function isoKey(iso: string): SortKey {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new AppError('invalid_time', `not an ISO time: ${iso}`);
  return { key: iso, ms };
}

/** Epoch ms as a fixed-width text key. */
export const msKey = (ms: number): SortKey => ({ key: String(ms).padStart(16, '0'), ms });

/** The time a stored sort key stands for (either form). */
export const sortKeyOf = (key: string): SortKey => (/^\d{16}$/.test(key) ? msKey(Number(key)) : isoKey(key));

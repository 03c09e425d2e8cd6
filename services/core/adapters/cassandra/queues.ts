import { PARALLEL, eachLimited } from './each-limited.ts';
import { BUCKET_MS, RETIRE_MARGIN_MS, SHARDS, bucketOf, shardOf, sortKeyOf, type SortKey } from './keys.ts';
import type { Db } from './session.ts';
import { CQL } from './statements.ts';
import { num } from './values.ts';

/**
 * The kinds of queue the stores keep: messages no router has ordered (`unrouted`), external
 * deliveries no connector has sent (`undispatched:<channel>`) or that wait for their next attempt
 * (`parked:<channel>`), webhook events due (`webhook-due`) and finished (`webhook-done`), open
 * upload sessions by expiry (`file-open`) and files being verified (`file-verifying`).
 */
export type QueueKind = 'unrouted' | `undispatched:${string}` | `parked:${string}` | 'webhook-due' | 'webhook-done' | 'file-open' | 'file-verifying';

/** One entry of a queue: the item and the time it is sorted by. */
export interface PendingItem {
  kind: QueueKind;
  sort: SortKey;
  itemId: string;
}

/**
 * A queue table that scans stay cheap on: items live in (kind, minute bucket, shard) partitions,
 * and `pending_buckets` lists the buckets that may still hold items, so a scan starts at the
 * oldest live bucket instead of walking the tombstones of everything already done.
 */
export class PendingIndex {
  /** `now` tells when an empty past bucket may be forgotten (see RETIRE_MARGIN_MS). */
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  /** Puts an item in a queue (again: a repeat writes the same entry). */
  async add(kind: QueueKind, sort: SortKey, itemId: string): Promise<void> {
    const bucket = bucketOf(sort.ms);
    await Promise.all([
      this.db.run(CQL.insertPending, [kind, bucket, shardOf(itemId), sort.key, itemId]),
      this.db.run(CQL.insertBucket, [kind, bucket]),
    ]);
  }

  /** Takes an item out of a queue. */
  async remove(kind: QueueKind, sort: SortKey, itemId: string): Promise<void> {
    await this.db.run(CQL.deletePending, [kind, bucketOf(sort.ms), shardOf(itemId), sort.key, itemId]);
  }

  /** Items with a sort key below (or up to) `upTo`, in sort order, at most `limit`. */
  async scan(kind: QueueKind, upTo: SortKey, inclusive: boolean, limit: number): Promise<PendingItem[]> {
    const last = bucketOf(upTo.ms);
    const buckets = (await this.db.rows(CQL.buckets, [kind, last])).map((r) => num(r.bucket)!);
    const found: PendingItem[] = [];
    for (const bucket of buckets) {
      const perShard = await Promise.all(
        Array.from({ length: SHARDS }, (_, shard) =>
          this.db.rows(inclusive ? CQL.pendingUpTo : CQL.pendingBefore, [kind, bucket, shard, upTo.key, limit]),
        ),
      );
      const rows = perShard.flat();
      for (const r of rows) {
        found.push({ kind, sort: sortKeyOf(String(r.sort_key)), itemId: String(r.item_id) });
      }
      // A bucket wholly before `upTo` that came back empty is empty: forget it once no write can be late.
      const end = (bucket + 1) * BUCKET_MS;
      if (rows.length === 0 && bucket < last && end + RETIRE_MARGIN_MS < this.now()) {
        await this.db.run(CQL.retireBucket, [(end + RETIRE_MARGIN_MS) * 1000, kind, bucket]);
      }
      if (found.length >= limit) break;
    }
    found.sort((a, b) => (a.sort.key < b.sort.key ? -1 : a.sort.key > b.sort.key ? 1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
    return found.slice(0, limit);
  }

  /** Items of a kind (stale entries included until a scan removes them). */
  async count(kind: QueueKind): Promise<number> {
    const buckets = (await this.db.rows(CQL.buckets, [kind, Number.MAX_SAFE_INTEGER])).map((r) => num(r.bucket)!);
    const counts = await eachLimited(
      buckets.flatMap((bucket) => Array.from({ length: SHARDS }, (_, shard) => [bucket, shard] as const)),
      PARALLEL,
      async ([bucket, shard]) => num((await this.db.run(CQL.countPending, [kind, bucket, shard])).rows[0]?.count) ?? 0,
    );
    return counts.reduce((a, n) => a + n, 0);
  }
}

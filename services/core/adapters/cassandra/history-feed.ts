import type { Message } from '../../domain/types.ts';
import type { HistoryRecord } from '../../ports/webhook-store.ts';
import { BUCKET_MS, SHARDS, feedBucketOf, idAt, shardOf } from './keys.ts';
import { toHistoryRecord, type StoredHistory } from './rows.ts';
import { HISTORY_FEED_TTL_SECONDS } from './schema.ts';
import type { CqlRow, Db } from './session.ts';
import { CQL } from './statements.ts';
import { cmp, json, num } from './values.ts';

/** Buckets of the history feed one read walks at most (an hour). */
const MAX_FEED_BUCKETS = 60;

/**
 * Every history entry by its time-based id (`history_feed`, bucketed by minute and sharded), so
 * the webhook dispatchers can read the history in id order without scanning messages.
 */
export class HistoryFeed {
  /** `settleMs`: see `CassandraStoreTuning.historySettleMs`. */
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly settleMs: number,
  ) {}

  /** Adds a history entry of a message (idempotent: a repeat writes the same row). */
  write(m: Pick<Message, 'message_id' | 'conversation_id' | 'sender_id'>, h: StoredHistory) {
    return this.db.run(CQL.insertFeed, [
      feedBucketOf(h.hid), shardOf(m.message_id), h.hid, h.delivery_id, m.message_id, m.conversation_id, m.sender_id,
      h.recipient_id, h.channel, h.status, h.at, json(h.error),
    ]);
  }

  /**
   * Up to `limit` entries with an id above `afterId`, in id order, and the last id looked at.
   * History ids come from the writers' clocks, so the feed hands out only entries older than
   * `settleMs` (the horizon), in steps so that a reader with nothing new is done after one round.
   * Within that bound, an entry written late is still seen.
   */
  async read(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }> {
    const now = this.now();
    const settled = this.settleMs > 0 ? Math.floor((now - this.settleMs) / 250) * 250 : now + 1;
    const horizon = idAt(settled) - 1;
    const from = Math.max(afterId, idAt(now - HISTORY_FEED_TTL_SECONDS * 1000));
    if (from >= horizon) return { entries: [], lastId: afterId };
    const found: CqlRow[] = [];
    let lastId = from;
    for (let bucket = feedBucketOf(from + 1), n = 0; bucket <= feedBucketOf(horizon) && n < MAX_FEED_BUCKETS; bucket++, n++) {
      const upTo = Math.min(horizon, idAt((bucket + 1) * BUCKET_MS) - 1);
      const perShard = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => this.db.rows(CQL.feed, [bucket, shard, from, upTo, limit])));
      found.push(...perShard.flat());
      lastId = upTo;
      if (found.length >= limit) break;
    }
    found.sort((a, b) => num(a.hid)! - num(b.hid)! || cmp(String(a.delivery_id), String(b.delivery_id)));
    let window = found;
    if (found.length >= limit) {
      // Each shard gave its first `limit` entries, so everything up to the limit-th id overall is here.
      const cut = num(found[limit - 1]!.hid)!;
      window = found.filter((r) => num(r.hid)! <= cut);
      lastId = cut;
    }
    return { entries: window.map(toHistoryRecord), lastId: Math.max(lastId, afterId) };
  }
}

import { decide, windowOf, type RateLimitDecision, type RateLimitStore } from '../../ports/rate-limit-store.ts';
import type { SqliteDatabase } from './database.ts';
import { groupCommitOf, type GroupCommit } from './group-commit.ts';

/** Every this many calls, the counters of windows that ended are deleted. */
const SWEEP_EVERY = 1000;

/**
 * Rate-limit counters in the embedded store: one row per key and window, added to by one UPSERT
 * in the group transaction of its turn (an immediate one), so processes that share the file count together.
 */
export class SqliteRateLimitStore implements RateLimitStore {
  private readonly stmt;
  private calls = 0;
  private readonly group: GroupCommit;

  constructor(db: SqliteDatabase) {
    this.group = groupCommitOf(db);
    this.stmt = {
      add: db.prepare(
        `INSERT INTO rate_limits (limit_key, bucket, hits, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (limit_key, bucket) DO UPDATE SET hits = hits + excluded.hits RETURNING hits`,
      ),
      sweep: db.prepare('DELETE FROM rate_limits WHERE expires_at <= ?'),
    };
  }

  async consume(key: string, cost: number, windowMs: number, limit: number, nowMs: number): Promise<RateLimitDecision> {
    const window = windowOf(nowMs, windowMs);
    // Shares the group transaction of this turn's other writes (the send it guards, often).
    const count = await this.group.run(() => {
      if (++this.calls % SWEEP_EVERY === 0) this.stmt.sweep.run(nowMs);
      return (this.stmt.add.get(key, window, cost, (window + 1) * windowMs) as { hits: number }).hits;
    });
    return decide(count, windowMs, limit, nowMs);
  }
}

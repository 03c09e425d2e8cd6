import { decide, windowOf, type RateLimitCounter, type RateLimitDecision, type RateLimitStore } from '../../ports/rate-limit-store.ts';
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
    return (await this.consumeEach([{ key, cost, windowMs, limit }], nowMs))[0]!;
  }

  async consumeEach(counters: RateLimitCounter[], nowMs: number): Promise<RateLimitDecision[]> {
    // The counters of one request in one write of this turn's group transaction, not one each.
    return this.group.run(() => {
      this.calls += counters.length;
      if (this.calls >= SWEEP_EVERY) {
        this.calls = 0;
        this.stmt.sweep.run(nowMs);
      }
      const decisions: RateLimitDecision[] = [];
      for (const c of counters) {
        const window = windowOf(nowMs, c.windowMs);
        const hits = (this.stmt.add.get(c.key, window, c.cost, (window + 1) * c.windowMs) as { hits: number }).hits;
        const decision = decide(hits, c.windowMs, c.limit, nowMs);
        decisions.push(decision);
        if (!decision.allowed) break;
      }
      return decisions;
    });
  }
}

import { unavailable } from '../../errors.ts';
import { decide, windowOf, type RateLimitCounter, type RateLimitDecision, type RateLimitStore } from '../../ports/rate-limit-store.ts';
import type { CassandraContext } from './context.ts';
import { CQL } from './statements.ts';
import { num } from './values.ts';

/** Compare-and-set rounds before a call gives up (503, retriable) under contention on one key. */
const MAX_ROUNDS = 8;
/** How long a window's row outlives its window, in seconds (clock skew between replicas). */
const TTL_MARGIN_S = 60;

/**
 * Rate-limit counters on Cassandra: one row per key and window (`rate_limits`, partition
 * `(limit_key, bucket)`), advanced by compare-and-set with lightweight transactions: read the
 * count at SERIAL, then `INSERT ... IF NOT EXISTS` or `UPDATE ... IF hits = <read>`, again on a
 * lost race. Every write carries a TTL, so windows that ended disappear without a sweep.
 *
 * Why LWT and not counter columns: counter tables cannot have a TTL (every window's row would
 * stay until a cleanup job deleted it), a counter increment that times out cannot be retried
 * without maybe counting twice, and counters cannot say "at most the limit". LWT costs a Paxos
 * round (about four round trips) per allowed call; once a window is over its limit no write is
 * made, so a flood of refused calls costs one SERIAL read each. Under heavy contention on one
 * key a call gives up after MAX_ROUNDS with a retriable 503.
 */
export class CassandraRateLimitStore implements RateLimitStore {
  constructor(private readonly ctx: CassandraContext) {}

  async consume(key: string, cost: number, windowMs: number, limit: number, nowMs: number): Promise<RateLimitDecision> {
    const { db } = this.ctx;
    const bucket = windowOf(nowMs, windowMs);
    const ttl = Math.ceil(((bucket + 1) * windowMs - nowMs) / 1000) + TTL_MARGIN_S;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = (await db.run(CQL.rateLimit, [key, bucket], { serial: true })).rows[0];
      if (!row) {
        if ((await db.run(CQL.startRateLimit, [key, bucket, cost, ttl])).wasApplied()) return decide(cost, windowMs, limit, nowMs);
        continue;
      }
      const hits = num(row.hits) ?? 0;
      // Over already: the answer cannot change in this window, so spare the write.
      if (hits > limit) return decide(hits, windowMs, limit, nowMs);
      if ((await db.run(CQL.addRateLimit, [ttl, hits + cost, key, bucket, hits])).wasApplied()) return decide(hits + cost, windowMs, limit, nowMs);
    }
    throw unavailable(`rate limit ${key}: too much contention to count; retry`);
  }

  async consumeEach(counters: RateLimitCounter[], nowMs: number): Promise<RateLimitDecision[]> {
    // Each counter is its own partition and compare-and-set: one after the other, as asked.
    const decisions: RateLimitDecision[] = [];
    for (const c of counters) {
      const decision = await this.consume(c.key, c.cost, c.windowMs, c.limit, nowMs);
      decisions.push(decision);
      if (!decision.allowed) break;
    }
    return decisions;
  }
}

/** What one `consume` decided. */
export interface RateLimitDecision {
  /** Whether the caller may go ahead: the window's count, with this cost, is at most the limit. */
  allowed: boolean;
  /** What is left in this window after this call (0 once refused). */
  remaining: number;
  /** When refused, how long until the window ends and the count starts again; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Counters of fixed time windows, shared by every replica that opens the same store: the rate
 * limits of the API (docs/api.md "Rate limits"). A window is `[k·windowMs, (k+1)·windowMs)` of
 * epoch time; its counter expires on its own a while after it ends.
 *
 * Why a port of our own and not `rate-limiter-flexible`: it has a SQLite limiter but none for
 * Cassandra, and the limits must mean the same on both stores (one contract suite runs against
 * both adapters). The fixed-window rule is small enough to state here; the adapters only count.
 */
export interface RateLimitStore {
  /**
   * Adds `cost` to the counter of `key` in the window that holds `nowMs`, atomically across
   * processes, and says whether the total is still within `limit`. Refused calls count too, so
   * hammering a refused key does not shorten its wait. Throws a retriable AppError when the store
   * cannot decide (unreachable, contention it could not settle).
   */
  consume(key: string, cost: number, windowMs: number, limit: number, nowMs: number): Promise<RateLimitDecision>;
  /**
   * `consume` for each counter in turn, stopping at the first refused one: the decisions of the
   * counters consumed, in order (the last one refused when fewer than asked). One round trip to
   * the store for the several limits of one request (a send counts its sender and its
   * conversation); a counter after a refused one is not touched, as if asked one by one.
   */
  consumeEach(counters: RateLimitCounter[], nowMs: number): Promise<RateLimitDecision[]>;
}

/** One counter of {@link RateLimitStore.consumeEach}: the arguments of `consume`. */
export interface RateLimitCounter {
  key: string;
  cost: number;
  windowMs: number;
  limit: number;
}

/** The decision for a window's count after a call: the rule both adapters share. */
export function decide(count: number, windowMs: number, limit: number, nowMs: number): RateLimitDecision {
  const allowed = count <= limit;
  const windowEnd = (Math.floor(nowMs / windowMs) + 1) * windowMs;
  return { allowed, remaining: Math.max(0, limit - count), retryAfterMs: allowed ? 0 : windowEnd - nowMs };
}

/** The number of the window that holds `nowMs`. */
export const windowOf = (nowMs: number, windowMs: number) => Math.floor(nowMs / windowMs);

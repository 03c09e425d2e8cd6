/**
 * How long a bus waits before handing a failed record to its handler again: the error's own
 * `retryAfterMs` when it has one (capped at 30 s), else `fallbackMs`. Both buses use it, so a
 * handler behaves the same on Kafka and in memory.
 */
export function retryDelay(err: unknown, fallbackMs: number): number {
  const asked = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof asked === 'number' && asked >= 0 ? Math.min(asked, 30_000) : fallbackMs;
}

/** Whether a handler error asked for its own pause (`retryAfterMs`): an expected wait, not worth a warning. */
export function hasRetryAfter(err: unknown): boolean {
  return typeof (err as { retryAfterMs?: unknown } | null)?.retryAfterMs === 'number';
}

/** How long to wait before the next attempt of a retriable failure. */
export interface BackoffOptions {
  /** First delay. @default 200 */
  baseMs: number;
  /** Longest delay. @default 30000 */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 30_000 };

/**
 * Exponential backoff with full jitter (AWS style): a random delay in [base·2^(attempt-1)/2,
 * base·2^(attempt-1)], capped; a provider's `Retry-After` is a floor, never shortened.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, retryAfterMs?: number | null, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

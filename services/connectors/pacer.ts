import type { Clock } from '../core/ports/clock.ts';

/**
 * A token bucket per key (a sender number and a kind of message): at most `ratePerSecond`
 * calls per second, with a burst of one second's worth. `take` waits for a token, so the
 * platform does not cause the provider's rate-limit errors in the first place.
 */
export class Pacer {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until a call under `key` may go, at `ratePerSecond`; returns the time waited in ms. */
  async take(key: string, ratePerSecond: number): Promise<number> {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return 0;
    let waited = 0;
    for (;;) {
      const now = this.clock.now();
      const b = this.buckets.get(key) ?? { tokens: ratePerSecond, at: now };
      b.tokens = Math.min(ratePerSecond, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
      b.at = now;
      this.buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return waited;
      }
      const ms = Math.ceil(((1 - b.tokens) / ratePerSecond) * 1000);
      await this.sleep(ms);
      waited += ms;
    }
  }
}

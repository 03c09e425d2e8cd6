import * as hdr from 'hdr-histogram-js';

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Values are kept in microseconds; 10 minutes is the largest distinguishable latency. */
const HIGHEST_US = 600_000_000;

/**
 * An HDR histogram of latencies in milliseconds (kept in µs, 3 significant digits), so p99 of a
 * million samples costs a few kB and no sorting.
 */
export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(significantDigits: 2 | 3 = 3) {
    this.h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: significantDigits, autoResize: false });
  }

  /** Records one latency in ms; negative values (clock rounding) count as 0, huge ones as the cap. */
  record(ms: number): void {
    this.h.recordValue(Math.min(HIGHEST_US, Math.max(0, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** The value at `percentile` (0–100) in ms; 0 when nothing was recorded. */
  at(percentile: number): number {
    return this.count === 0 ? 0 : round(this.h.getValueAtPercentile(percentile) / 1000);
  }

  summary(): LatencySummary {
    return { p50: this.at(50), p95: this.at(95), p99: this.at(99), max: this.count === 0 ? 0 : round(this.h.maxValue / 1000) };
  }

  reset(): void {
    this.h.reset();
  }

  destroy(): void {
    this.h.destroy();
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

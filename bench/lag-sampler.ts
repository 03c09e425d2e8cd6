import { fetchMetrics, parsePromText } from '../services/core/prom-text.ts';

/** One reading of the platform's consumer lag: every group and topic summed, records. */
export interface LagSample {
  /** Seconds since the sampler started. */
  t: number;
  lag: number;
}

/** Whether the backlog stayed flat over a step, and the numbers that say so. */
export interface LagVerdict {
  flat: boolean;
  /** Least-squares slope of the total lag over the step after its first 10 s, records/s (growth of the backlog). */
  slope_per_s: number;
  max_lag: number;
  samples: LagSample[];
}

/**
 * Reads `kafka_consumergroup_lag_sum` from every process that reports it, every `intervalMs`:
 * per group and topic the highest reading of any process (each consumer process of a group
 * reports the group's whole lag), all of them summed. Processes refresh it every 5 s.
 */
export class LagSampler {
  private samples: LagSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private started = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly urls: () => string[],
    private readonly intervalMs = 2500,
  ) {}

  start(): void {
    this.samples = [];
    this.started = performance.now();
    this.timer = setInterval(() => {
      this.pending = this.read();
    }, this.intervalMs);
  }

  /**
   * Stops and judges: flat when the backlog grew by less than 2 % of the offered rate per second
   * (or 5 records/s) after the first 10 s, i.e. consumers keep up instead of falling behind.
   */
  async stop(offeredPerS: number): Promise<LagVerdict> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pending;
    const kept = this.samples.filter((s) => s.t >= 10);
    const slope = slopeOf(kept);
    const max = Math.max(0, ...this.samples.map((s) => s.lag));
    return { flat: slope <= Math.max(5, 0.02 * offeredPerS), slope_per_s: Math.round(slope * 10) / 10, max_lag: max, samples: this.samples };
  }

  private async read(): Promise<void> {
    const t = Math.round((performance.now() - this.started) / 100) / 10;
    const byGroupTopic = new Map<string, number>();
    let answered = 0;
    await Promise.all(
      this.urls().map(async (url) => {
        const text = await fetchMetrics(url, 2000);
        if (text === null) return;
        for (const s of parsePromText(text)) {
          if (s.name !== 'kafka_consumergroup_lag_sum') continue;
          answered++;
          const key = `${s.labels.consumergroup}\u0000${s.labels.topic}`;
          byGroupTopic.set(key, Math.max(byGroupTopic.get(key) ?? 0, s.value));
        }
      }),
    );
    if (answered > 0) this.samples.push({ t, lag: [...byGroupTopic.values()].reduce((a, b) => a + b, 0) });
  }
}

/** Least-squares slope of lag over time; 0 with fewer than two samples. */
export function slopeOf(samples: LagSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const ml = samples.reduce((a, s) => a + s.lag, 0) / n;
  const num = samples.reduce((a, s) => a + (s.t - mt) * (s.lag - ml), 0);
  const den = samples.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

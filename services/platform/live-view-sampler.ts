import type { ProcessInfo } from './supervisor.ts';
import { fetchMetrics, parsePromText, type PromSample } from '../core/prom-text.ts';

export { parsePromText };

/**
 * A quantile from cumulative histogram buckets, interpolated linearly inside the bucket as
 * PromQL's `histogram_quantile` does; null without observations.
 */
export function quantile(q: number, buckets: Map<number, number>): number | null {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? (les.length ? buckets.get(les[les.length - 1]!)! : 0);
  if (!total || total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const count = buckets.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** What one process's `/metrics` says, reduced to what the live view shows. */
interface ProcessReading {
  accepted: number;
  delivered: number;
  buckets: Map<number, number>;
  lag: Map<string, number>;
  breakers: Map<string, number>;
  waiting: Map<string, number>;
}

function read(samples: PromSample[]): ProcessReading {
  const r: ProcessReading = { accepted: 0, delivered: 0, buckets: new Map(), lag: new Map(), breakers: new Map(), waiting: new Map() };
  for (const s of samples) {
    switch (s.name) {
      case 'messages_accepted_total':
        r.accepted += s.value;
        break;
      case 'chat4all_delivery_latency_seconds_count':
        r.delivered += s.value;
        break;
      case 'chat4all_delivery_latency_seconds_bucket': {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        r.buckets.set(le, (r.buckets.get(le) ?? 0) + s.value);
        break;
      }
      case 'kafka_consumergroup_lag_sum':
        r.lag.set(`${s.labels.consumergroup}\u0000${s.labels.topic}`, s.value);
        break;
      case 'circuit_breaker_state': {
        const ch = s.labels.channel ?? '?';
        // Open outranks half-open outranks closed: a channel shows its worst breaker.
        const rank = (v: number) => (v === 1 ? 2 : v === 2 ? 1 : 0);
        const prev = r.breakers.get(ch);
        if (prev === undefined || rank(s.value) > rank(prev)) r.breakers.set(ch, s.value);
        break;
      }
      case 'connector_deliveries_waiting':
        r.waiting.set(s.labels.channel ?? '?', (r.waiting.get(s.labels.channel ?? '?') ?? 0) + s.value);
        break;
    }
  }
  return r;
}

/** One point of the live charts. */
export interface LivePoint {
  /** ms since epoch */
  t: number;
  accepted_per_s: number;
  delivered_per_s: number;
  /** Accept → delivered percentiles over the last `windowS` seconds, in seconds; null without deliveries. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Consumer lag per consumer group (summed over its topics and partitions; max over the processes reporting it). */
  lag: Record<string, number>;
}

/** What `/live.json` answers. */
export interface LiveSnapshot {
  interval_ms: number;
  window_s: number;
  points: LivePoint[];
  /** Per channel: 0 closed, 1 open, 2 half-open (the worst of its operations). */
  breakers: Record<string, number>;
  /** Deliveries waiting for the provider, per channel. */
  waiting: Record<string, number>;
  processes: ProcessInfo[];
  /** Processes whose `/metrics` did not answer in the last round. */
  scrape_errors: string[];
}

export interface LiveSamplerOptions {
  /** The processes to sample (the supervisor's `ps`). */
  processes: () => ProcessInfo[];
  /** @default 1000 */
  intervalMs?: number;
  /** Points kept. @default 180 */
  history?: number;
  /** Seconds of deliveries the percentiles are computed over. @default 10 */
  windowS?: number;
}

/**
 * Samples every running process's `/metrics` once per interval and turns counters into rates and
 * histograms into percentiles, for the live view of `make up`. Counter resets (a restarted
 * process) count from zero instead of going negative.
 */
export class LiveSampler {
  private readonly points: LivePoint[] = [];
  private readonly bucketDeltas: Map<number, number>[] = [];
  private readonly previous = new Map<string, { pid: number | null; reading: ProcessReading }>();
  private breakers: Record<string, number> = {};
  private waiting: Record<string, number> = {};
  private errors: string[] = [];
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly windowS: number;

  constructor(private readonly options: LiveSamplerOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.windowS = options.windowS ?? 10;
  }

  start(): this {
    if (!this.timer) {
      this.timer = setInterval(() => {
        if (!this.running) this.running = this.sample().finally(() => (this.running = null));
      }, this.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Takes one sample of every running process now. */
  async sample(): Promise<void> {
    const now = Date.now();
    const targets = this.options.processes().filter((p) => p.url && p.state === 'running');
    const errors: string[] = [];
    const readings = await Promise.all(
      targets.map(async (p) => {
        const text = await fetchMetrics(p.url!, Math.max(200, this.intervalMs - 100));
        if (text === null) {
          errors.push(p.name);
          return null;
        }
        return { p, reading: read(parsePromText(text)) };
      }),
    );
    let accepted = 0;
    let delivered = 0;
    const buckets = new Map<number, number>();
    const lagByKey = new Map<string, number>();
    const breakers: Record<string, number> = {};
    const waiting: Record<string, number> = {};
    const delta = (cur: number, prev: number | undefined) => (prev === undefined ? 0 : cur >= prev ? cur - prev : cur);
    for (const r of readings) {
      if (!r) continue;
      const before = this.previous.get(r.p.name);
      const prev = before && before.pid === r.p.pid ? before.reading : undefined;
      accepted += delta(r.reading.accepted, prev?.accepted);
      delivered += delta(r.reading.delivered, prev?.delivered);
      for (const [le, c] of r.reading.buckets) buckets.set(le, (buckets.get(le) ?? 0) + delta(c, prev ? (prev.buckets.get(le) ?? 0) : undefined));
      for (const [k, v] of r.reading.lag) lagByKey.set(k, Math.max(lagByKey.get(k) ?? 0, v));
      for (const [ch, v] of r.reading.breakers) breakers[ch] = v;
      for (const [ch, v] of r.reading.waiting) waiting[ch] = (waiting[ch] ?? 0) + v;
      this.previous.set(r.p.name, { pid: r.p.pid, reading: r.reading });
    }
    const seconds = this.lastAt ? Math.max(0.001, (now - this.lastAt) / 1000) : 1;
    this.lastAt = now;
    this.bucketDeltas.push(buckets);
    const keep = Math.max(1, Math.round((this.windowS * 1000) / this.intervalMs));
    while (this.bucketDeltas.length > keep) this.bucketDeltas.shift();
    const window = new Map<number, number>();
    for (const b of this.bucketDeltas) for (const [le, c] of b) window.set(le, (window.get(le) ?? 0) + c);
    const lag: Record<string, number> = {};
    for (const [k, v] of lagByKey) {
      const group = k.split('\u0000')[0]!;
      lag[group] = (lag[group] ?? 0) + v;
    }
    this.points.push({
      t: now,
      accepted_per_s: accepted / seconds,
      delivered_per_s: delivered / seconds,
      p50: quantile(0.5, window),
      p95: quantile(0.95, window),
      p99: quantile(0.99, window),
      lag,
    });
    while (this.points.length > (this.options.history ?? 180)) this.points.shift();
    this.breakers = breakers;
    this.waiting = waiting;
    this.errors = errors;
  }

  snapshot(): LiveSnapshot {
    return {
      interval_ms: this.intervalMs,
      window_s: this.windowS,
      points: [...this.points],
      breakers: { ...this.breakers },
      waiting: { ...this.waiting },
      processes: this.options.processes(),
      scrape_errors: [...this.errors],
    };
  }
}

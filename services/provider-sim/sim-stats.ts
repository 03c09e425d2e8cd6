import { CHANNELS, type Channel } from './channel.ts';
import type { RequestOutcome, SimMetrics, WebhookResult } from './sim-metrics.ts';

/** Fault kinds counted by {@link SimStats}. */
export type FaultKind = 'down' | 'error' | 'timeout' | 'lost_response' | 'latency';

/** Counters of one channel, as `GET /_sim/stats` answers them. */
export interface ChannelStats {
  /** Provider calls received. */
  requests: number;
  /** Calls answered 200 (including lost responses). */
  accepted: number;
  /** Calls answered with a Meta error, by error code (injected errors included). */
  rejected: Record<string, number>;
  /** Faults injected, by kind. */
  faults: Record<FaultKind, number>;
  webhooks: {
    /** Events delivered (receiver answered 2xx). */
    sent: number;
    /** Events given up on after every retry. */
    failed: number;
    /** HTTP attempts, retries included. */
    attempts: number;
    /** Events dropped because no webhook URL was configured. */
    skipped: number;
    /** Events scheduled or being retried right now. */
    pending: number;
  };
}

function emptyStats(): ChannelStats {
  return {
    requests: 0,
    accepted: 0,
    rejected: {},
    faults: { down: 0, error: 0, timeout: 0, lost_response: 0, latency: 0 },
    webhooks: { sent: 0, failed: 0, attempts: 0, skipped: 0, pending: 0 },
  };
}

/** Per-channel counters for the admin API, mirrored into Prometheus metrics. */
export class SimStats {
  private stats: Record<Channel, ChannelStats> = { whatsapp: emptyStats(), instagram: emptyStats() };

  /** Counter children by their labels: prom-client hashes a label object at every `inc` otherwise. */
  private readonly children = new Map<string, { inc(): void }>();

  constructor(private readonly metrics: SimMetrics) {}

  private count(key: string, make: () => { inc(): void }): void {
    let child = this.children.get(key);
    if (!child) this.children.set(key, (child = make()));
    child.inc();
  }

  request(channel: Channel): void {
    this.stats[channel].requests += 1;
  }

  outcome(channel: Channel, outcome: RequestOutcome, code?: number): void {
    const s = this.stats[channel];
    if (outcome === 'accepted') s.accepted += 1;
    if (code !== undefined) s.rejected[String(code)] = (s.rejected[String(code)] ?? 0) + 1;
    this.count(`requests:${channel}:${outcome}`, () => this.metrics.requests.labels({ channel, outcome }));
  }

  fault(channel: Channel, kind: FaultKind): void {
    this.stats[channel].faults[kind] += 1;
  }

  webhookScheduled(channel: Channel, events: number): void {
    this.stats[channel].webhooks.pending += events;
  }

  webhookAttempt(channel: Channel): void {
    this.stats[channel].webhooks.attempts += 1;
    this.count(`attempts:${channel}`, () => this.metrics.webhookAttempts.labels({ channel }));
  }

  /** Records how a scheduled event ended; `undefined` when cancelled by reset or close. */
  webhookDone(channel: Channel, result: WebhookResult | undefined): void {
    const w = this.stats[channel].webhooks;
    w.pending = Math.max(0, w.pending - 1);
    if (result === undefined) return;
    w[result] += 1;
    this.count(`webhooks:${channel}:${result}`, () => this.metrics.webhooks.labels({ channel, result }));
  }

  /** A copy of every channel's counters. */
  snapshot(): Record<Channel, ChannelStats> {
    return structuredClone(this.stats);
  }

  /** Zeroes the counters but keeps `pending`, which tracks work still in flight. Prometheus counters stay monotonic. */
  reset(): void {
    const next = { whatsapp: emptyStats(), instagram: emptyStats() };
    for (const c of CHANNELS) next[c].webhooks.pending = this.stats[c].webhooks.pending;
    this.stats = next;
  }
}

import { LatencyHistogram } from './latency-histogram.ts';

/** One second of a run. */
export interface TimelinePoint {
  t_s: number;
  offered_per_s: number;
  accepted_per_s: number;
  /** Requests offered in this second that were not answered 202 (an error status, no answer, or dropped by the client), counted in the second they were offered. */
  failed_per_s: number;
  delivered_per_s: number;
  http_p99_ms: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
}

interface Row {
  offered: number;
  accepted: number;
  failed: number;
  delivered: number;
  http: LatencyHistogram | null;
  e2e: LatencyHistogram | null;
  closed: { http_p99: number; e2e_p50: number; e2e_p99: number } | null;
}

/**
 * Per-second counts and latency percentiles of a run. Rows are closed (percentiles computed,
 * histograms reused) once they are a few seconds old, so a long soak keeps a handful of
 * histograms, not one per second. A latency that arrives for a closed second is counted in the
 * oldest open one.
 */
export class Timeline {
  private readonly rows: Row[] = [];
  private openFrom = 0;
  private readonly pool: LatencyHistogram[] = [];

  private row(sec: number): Row {
    const s = Math.max(0, Math.floor(sec));
    while (this.rows.length <= s) this.rows.push({ offered: 0, accepted: 0, failed: 0, delivered: 0, http: null, e2e: null, closed: null });
    return this.rows[s]!;
  }

  count(kind: 'offered' | 'accepted' | 'failed' | 'delivered', sec: number): void {
    this.row(sec)[kind]++;
  }

  latency(kind: 'http' | 'e2e', sec: number, ms: number): void {
    const row = this.row(Math.max(sec, this.openFrom));
    (row[kind] ??= this.pool.pop() ?? new LatencyHistogram(2)).record(ms);
  }

  /** Computes the percentiles of every second before `sec` and frees their histograms. */
  closeBefore(sec: number): void {
    const until = Math.min(Math.floor(sec), this.rows.length);
    for (; this.openFrom < until; this.openFrom++) {
      const row = this.rows[this.openFrom]!;
      row.closed = { http_p99: row.http?.at(99) ?? 0, e2e_p50: row.e2e?.at(50) ?? 0, e2e_p99: row.e2e?.at(99) ?? 0 };
      for (const h of [row.http, row.e2e]) {
        if (!h) continue;
        h.reset();
        this.pool.push(h);
      }
      row.http = null;
      row.e2e = null;
    }
  }

  /** Every second so far, all closed. */
  points(): TimelinePoint[] {
    this.closeBefore(this.rows.length);
    return this.rows.map((r, t) => ({
      t_s: t,
      offered_per_s: r.offered,
      accepted_per_s: r.accepted,
      failed_per_s: r.failed,
      delivered_per_s: r.delivered,
      http_p99_ms: r.closed!.http_p99,
      e2e_p50_ms: r.closed!.e2e_p50,
      e2e_p99_ms: r.closed!.e2e_p99,
    }));
  }

  destroy(): void {
    for (const h of this.pool) h.destroy();
    this.pool.length = 0;
  }
}

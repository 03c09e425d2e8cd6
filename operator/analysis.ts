import type { TimelinePoint } from '../loadtest/generator.ts';
import { probeName, ruleName, type ExperimentSpec, type Probe, type Rule } from './experiment-spec.ts';
import type { ProbeResult, RuleResult } from './journal.ts';

/** A sample placed on the load's clock. */
export interface TimedSample {
  t_s: number;
  routers: Record<string, { assigned: number | null; routed: number | null }>;
  connectors: Record<string, { breaker_state: number | null; breaker_opens: number | null; waiting: number | null }>;
  lag_sum: number | null;
  provider: { refused_down: number } | null;
  load: { offered: number; accepted: number; failed: number; delivered: number } | null;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function rows(timeline: TimelinePoint[], from: number, to: number) {
  return timeline.filter((p) => p.t_s >= Math.floor(from) && p.t_s < Math.ceil(to));
}

/** Evaluates steady-state probes over `[from, to)` seconds of the load, from the recorded timeline and samples. */
export function evaluateProbes(probes: Probe[], timeline: TimelinePoint[], samples: TimedSample[], from: number, to: number): ProbeResult[] {
  const win = rows(timeline, from, to);
  const offered = win.reduce((a, p) => a + p.offered_per_s, 0);
  const delivered = win.reduce((a, p) => a + p.delivered_per_s, 0);
  const failed = win.reduce((a, p) => a + p.failed_per_s, 0);
  const span = `${r2(from)}–${r2(to)} s`;
  return probes.map((p): ProbeResult => {
    const name = probeName(p);
    switch (p.kind) {
      case 'delivery_rate': {
        const tol = p.tolerance_percent!;
        const dev = offered > 0 ? (100 * Math.abs(delivered - offered)) / offered : null;
        return {
          name,
          kind: p.kind,
          tolerance: `|delivered − offered| ≤ ${tol}% of offered`,
          observed: dev === null ? null : r2(dev),
          source: `deviation in % over ${span}: offered ${offered}, delivered ${delivered} (load timeline)`,
          ok: dev !== null && dev <= tol,
        };
      }
      case 'e2e_p99_ms': {
        const withData = win.filter((x) => x.delivered_per_s > 0);
        const worst = withData.length ? Math.max(...withData.map((x) => x.e2e_p99_ms)) : null;
        return { name, kind: p.kind, tolerance: `≤ ${p.max} ms`, observed: worst, source: `worst per-second e2e p99 over ${span} (load timeline)`, ok: worst !== null && worst <= p.max! };
      }
      case 'lag': {
        const inWin = samples.filter((s) => s.t_s >= from - 5 && s.t_s < to && s.lag_sum !== null);
        if (inWin.length > 0) {
          const worst = Math.max(...inWin.map((s) => s.lag_sum!));
          return { name, kind: p.kind, tolerance: `≤ ${p.max} records`, observed: worst, source: `max kafka_consumergroup_lag (router group, accepted topic, summed over partitions) over ${span} (refreshed every 5 s)`, ok: worst <= p.max! };
        }
        // No lag gauge exported: the backlog the load sees (accepted, not yet delivered) stands in.
        const loadIn = samples.filter((s) => s.t_s >= from && s.t_s < to && s.load);
        const worst = loadIn.length ? Math.max(...loadIn.map((s) => s.load!.accepted - s.load!.delivered)) : null;
        return { name, kind: p.kind, tolerance: `≤ ${p.max} messages`, observed: worst, source: `kafka_consumergroup_lag not exported: accepted − delivered (load counters) over ${span}`, ok: worst !== null && worst <= p.max! };
      }
      case 'http_error_ratio': {
        // Both counted in the second a request was offered: one offered just before the window's end
        // and answered 202 just after it is not an error.
        const ratio = offered > 0 ? failed / offered : null;
        return { name, kind: p.kind, tolerance: `≤ ${p.max}`, observed: ratio === null ? null : Math.round(ratio * 10000) / 10000, source: `requests not answered 202 / offered, by the second each was offered, over ${span} (load timeline): ${failed} of ${offered}`, ok: ratio !== null && ratio <= p.max! };
      }
    }
  });
}

/** The live check before the fault: what the load counters and samples show over the last window. */
export function liveProbes(probes: Probe[], samples: TimedSample[], windowS: number): ProbeResult[] {
  const withLoad = samples.filter((s) => s.load);
  const last = withLoad.at(-1);
  const first = last ? [...withLoad].reverse().find((s) => s.t_s <= last.t_s - windowS) : undefined;
  return probes.map((p): ProbeResult => {
    const name = probeName(p);
    if (!last || !first) return { name, kind: p.kind, tolerance: '', observed: null, source: 'no load counters yet', ok: false };
    const d = (k: 'offered' | 'accepted' | 'failed' | 'delivered') => last.load![k] - first.load![k];
    const span = `live, ${r2(first.t_s)}–${r2(last.t_s)} s`;
    switch (p.kind) {
      case 'delivery_rate': {
        const dev = d('offered') > 0 ? (100 * Math.abs(d('delivered') - d('offered'))) / d('offered') : null;
        return { name, kind: p.kind, tolerance: `≤ ${p.tolerance_percent}%`, observed: dev === null ? null : r2(dev), source: `${span}: offered ${d('offered')}, delivered ${d('delivered')}`, ok: dev !== null && dev <= p.tolerance_percent! };
      }
      case 'http_error_ratio': {
        const answered = d('accepted') + d('failed');
        const ratio = answered > 0 ? d('failed') / answered : 0;
        return { name, kind: p.kind, tolerance: `≤ ${p.max}`, observed: r2(ratio), source: span, ok: ratio <= p.max! };
      }
      case 'lag': {
        const lag = [...samples].reverse().find((s) => s.lag_sum !== null)?.lag_sum ?? last.load!.accepted - last.load!.delivered;
        return { name, kind: p.kind, tolerance: `≤ ${p.max}`, observed: lag, source: span, ok: lag <= p.max! };
      }
      case 'e2e_p99_ms':
        return { name, kind: p.kind, tolerance: `≤ ${p.max} ms`, observed: null, source: 'evaluated from the timeline after the run', ok: true };
    }
  });
}

/**
 * Seconds from `from` until delivered/s is back within `tolerancePct` of offered/s (2 s sliding
 * sums) and stays there for `holdS` seconds; null if that never happens before the load ends.
 */
export function recoverySeconds(timeline: TimelinePoint[], from: number, durationS: number, tolerancePct: number, holdS: number): number | null {
  const at = (t: number) => timeline[t] ?? { offered_per_s: 0, delivered_per_s: 0 };
  const within = (u: number) => {
    const o = at(u).offered_per_s + (u > 0 ? at(u - 1).offered_per_s : 0);
    const d = at(u).delivered_per_s + (u > 0 ? at(u - 1).delivered_per_s : 0);
    return o > 0 && Math.abs(d - o) <= (tolerancePct / 100) * o;
  };
  const last = Math.floor(durationS) - 1; // the last full second of sending
  for (let t = Math.max(0, Math.floor(from)); t + holdS - 1 <= last; t++) {
    let ok = true;
    for (let u = t; u < t + holdS && ok; u++) ok = within(u);
    if (ok) return r2(Math.max(0, t - from));
  }
  return null;
}

/**
 * Messages routed per second over `[from, to]`, from the routers' counters: per router, its
 * counter interpolated at both ends (a scrape that failed is skipped, not read as 0; a router
 * that started inside the window counts from 0).
 */
export function routedPerSecond(samples: TimedSample[], from: number, to: number): number | null {
  if (to <= from) return null;
  const names = new Set(samples.flatMap((s) => Object.keys(s.routers)));
  // A router whose scrapes had not answered yet at `from` (busy starting) moves the window's start
  // to its first answer, so its earlier work is not counted inside the window.
  for (const name of names) {
    const first = samples.find((s) => typeof s.routers[name]?.routed === 'number');
    if (first && first.t_s > from && first.t_s < to - 1) from = first.t_s;
  }
  let total = 0;
  let any = false;
  for (const name of names) {
    const pts = samples.filter((s) => typeof s.routers[name]?.routed === 'number').map((s) => ({ t: s.t_s, v: s.routers[name]!.routed! }));
    if (pts.length === 0 || pts.at(-1)!.t < from) continue;
    const at = (t: number) => {
      if (t <= pts[0]!.t) return t < pts[0]!.t && pts[0]!.t > from ? 0 : pts[0]!.v;
      for (let i = 1; i < pts.length; i++) {
        const a = pts[i - 1]!;
        const b = pts[i]!;
        if (t <= b.t) return a.v + ((b.v - a.v) * (t - a.t)) / (b.t - a.t || 1);
      }
      return pts.at(-1)!.v;
    };
    const d = at(to) - at(from);
    if (d >= 0) {
      total += d;
      any = true;
    }
  }
  return any ? r2(total / (to - from)) : null;
}

/** Per-second routed rate series (for charts and the rebalance pause). */
export function routedSeries(samples: TimedSample[]): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = b.t_s - a.t_s;
    if (dt <= 0) continue;
    let total = 0;
    for (const [name, rb] of Object.entries(b.routers)) {
      if (rb.routed === null) continue;
      const ra = a.routers[name]?.routed ?? 0;
      total += rb.routed >= ra ? rb.routed - ra : rb.routed;
    }
    out.push({ t: b.t_s, v: r2(total / dt) });
  }
  return out;
}


/** Checks each rule against the named numbers. A number that was never observed fails its rule. */
export function checkRules(rules: Rule[], numbers: Record<string, number | null>): RuleResult[] {
  return rules.map((r) => {
    const observed = numbers[r.metric] ?? null;
    const name = ruleName(r);
    if (observed === null || Number.isNaN(observed)) return { name, metric: r.metric, min: r.min, max: r.max, observed: null, ok: false, message: `${r.metric} was not observed` };
    const low = r.min !== undefined && observed < r.min;
    const high = r.max !== undefined && observed > r.max;
    const ok = !low && !high;
    return {
      name,
      metric: r.metric,
      min: r.min,
      max: r.max,
      observed,
      ok,
      message: ok ? `${r.metric} = ${observed}` : `${r.metric} = ${observed}, ${low ? `below the minimum ${r.min}` : `above the maximum ${r.max}`}`,
    };
  });
}

/** The tolerance the recovery time uses: the delivery-rate probe's, else 10 %. */
export function recoveryTolerance(spec: ExperimentSpec): number {
  return spec.steady_state.find((p) => p.kind === 'delivery_rate')?.tolerance_percent ?? 10;
}

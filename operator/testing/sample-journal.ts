import { findExperiment } from '../catalog.ts';
import type { Journal } from '../journal.ts';

/** A made-up router-failover journal (verdict Fail: 2 lost) with 30 s of series, for report tests. */
export function sampleJournal(): Journal {
  const spec = findExperiment('router-failover');
  const start = Date.parse('2026-01-01T00:00:00Z');
  const timeline = Array.from({ length: 28 }, (_, t) => ({
    t_s: t,
    offered_per_s: 40,
    accepted_per_s: 40,
    failed_per_s: 0,
    delivered_per_s: t >= 6 && t < 13 ? 20 : t >= 13 && t < 15 ? 90 : 40,
    http_p99_ms: 8 + (t % 3),
    e2e_p50_ms: t >= 6 && t < 15 ? 3000 : 40,
    e2e_p99_ms: t >= 6 && t < 15 ? 7000 : 90,
  }));
  const samples = Array.from({ length: 30 }, (_, t) => {
    const killed = t >= 6;
    const routers: Journal['series']['samples'][number]['routers'] = {
      'router-2': { assigned: killed && t >= 13 ? 12 : 6, routed: t * 20 + (t >= 13 ? (t - 13) * 20 : 0), rebalances: t >= 13 ? 2 : 1 },
    };
    if (!killed) routers['router-1'] = { assigned: 6, routed: t * 20, rebalances: 1 };
    const lag: Record<string, number> = {};
    for (let p = 0; p < 12; p++) lag[String(p)] = p < 6 && t >= 6 && t < 14 ? (t - 6) * 3 : 0;
    return {
      at: start + t * 1000,
      t_s: t,
      processes: [
        { name: 'broker', workload: 'broker', state: 'running', pid: 10 },
        { name: 'router-1', workload: 'router', state: killed ? 'killed' : 'running', pid: killed ? null : 11 },
        { name: 'router-2', workload: 'router', state: 'running', pid: 12 },
        { name: 'api', workload: 'api', state: 'running', pid: 13 },
      ],
      routers,
      connectors: { 'connector-whatsapp': { breaker_state: 0, breaker_opens: 0, waiting: 0, sent_ok: t * 40 } },
      api: { accepted: t * 40 },
      lag,
      lag_sum: Object.values(lag).reduce((a, b) => a + b, 0),
      provider: { requests: t * 40, accepted: t * 40, refused_down: 0 },
      load: { elapsed_ms: t * 1000, offered: t * 40, accepted: t * 40, failed: 0, delivered: t * 38, in_flight: 1 },
    };
  });
  const probe = (ok: boolean, observed: number) => [
    { name: 'delivered/s within 10% of offered/s', kind: 'delivery_rate', tolerance: '≤ 10%', observed, source: 'test', ok },
    { name: 'e2e p99 under 1500 ms', kind: 'e2e_p99_ms', tolerance: '≤ 1500 ms', observed: 90, source: 'test', ok: true },
  ];
  return {
    experiment: spec,
    run_id: 'router-failover-sample',
    platform: 'local',
    started_at: new Date(start - 5000).toISOString(),
    ended_at: new Date(start + 40000).toISOString(),
    verdict: 'Fail',
    reason: 'lost <= 0: lost = 2, above the maximum 0',
    plan: ['kill router-1'],
    steady_state_before: { ok: true, probes: probe(true, 1.2), window_s: [3, 6] },
    baseline_before_fault: { ok: true, probes: probe(true, 2.1), window_s: [3, 6] },
    steady_state_after: { ok: true, probes: probe(true, 0.5), window_s: [25, 28] },
    method: [
      { at: new Date(start).toISOString(), t_s: 0, step: 'load started' },
      { at: new Date(start + 6000).toISOString(), t_s: 6, step: 'fault injected', detail: 'pid 11 no longer exists' },
      { at: new Date(start + 13000).toISOString(), t_s: 13, step: 'takeover', detail: 'router-2=12' },
    ],
    injection: {
      type: 'kill',
      at: new Date(start + 6000).toISOString(),
      t_s: 6,
      stopped_at: null,
      stopped_t_s: null,
      targets: ['router-1'],
      landed: true,
      proof: ['pid 11 no longer exists (kill(pid, 0) → ESRCH) 12 ms after SIGKILL'],
      details: { takeover_at: start + 13000 },
    },
    verification: {
      accepted: 1120,
      lost: 2,
      duplicates: 0,
      out_of_order: 0,
      recovery_seconds: 9,
      takeover_seconds: 7,
      rules: [
        { name: 'lost <= 0', metric: 'lost', max: 0, observed: 2, ok: false, message: 'lost = 2, above the maximum 0' },
        { name: 'duplicates <= 0', metric: 'duplicates', max: 0, observed: 0, ok: true, message: 'duplicates = 0' },
        { name: 'recovery_seconds <= 20', metric: 'recovery_seconds', max: 20, observed: 9, ok: true, message: 'recovery_seconds = 9' },
      ],
    },
    rollback: { ok: true, steps: [{ at: new Date(start + 40000).toISOString(), t_s: 40, step: 'router replicas restored to 2' }], errors: [] },
    load: null,
    notes: [],
    error: null,
    interrupted: false,
    series: { timeline, samples },
  };
}

/** The table `make bench` prints: ratios, the long runs, CPU per message, one router vs two. */
import type { BusLimit } from './bus-limit.ts';
import type { RateRun } from './bench-settings.ts';

export const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
export const sum = (runs: RateRun[], k: 'lost' | 'duplicates' | 'out_of_order') => runs.reduce((n, r) => n + r[k], 0);
export const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
/** `name N%` per process, % of one core. */
export const cpuOf = (c: Record<string, number | null>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v ?? '?'}%`)
    .join(', ');
export const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

export interface TableInput {
  machine: { cores: number; memory_gb: number };
  git_commit: string | null;
  http_limit_per_s: number;
  bus_limit: { batch_1000: BusLimit; batch_10: BusLimit; batch_1: BusLimit };
  http_limit: { cpu_percent: Record<string, number | null> };
  offered_rate: number;
  sustained: boolean;
  accepted_per_s: number;
  delivered_per_s: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  goal: { rate: number; e2e_p99_ms: number; met: boolean };
  sustained_runs: {
    runs: number;
    seconds_each: number;
    delivered_per_s: { min: number; median: number; max: number };
    e2e_p50_ms: { min: number; median: number; max: number };
    e2e_p99_ms: { min: number; median: number; max: number };
    lag_slope_per_s: (number | null)[];
  };
  cpu_ms_per_message: { per_process: Record<string, number | null>; platform: number; simulator: number; generator: number };
  api_saturation: { offered_rate: number; accepted_per_s: number };
  ratios: Record<string, number | null>;
  routers: { two: { max_sustained_step_rate: number | null }; one: { max_sustained_step_rate: number | null } | null };
  lost: number;
  duplicates: number;
  out_of_order: number;
  steps: RateRun[];
  one_router_steps: RateRun[];
  long_runs: RateRun[];
}

/** The summary as rows (label, value, note) for the HTML report, and as the printed table. */
export function table(r: TableInput): { rows: [string, string, string][]; text: string } {
  const mmm = (x: { min: number; median: number; max: number }, unit = '') => `${x.min} / ${x.median} / ${x.max}${unit}`;
  const sr = r.sustained_runs;
  const rows: [string, string, string][] = [
    ['bare node:http POST (the limit)', `${n0(r.http_limit_per_s)}/s`, `CPU: ${cpuOf(r.http_limit.cpu_percent)}`],
    ['dev broker, kafkajs produce→consume, 1000-record batches', `${n0(r.bus_limit.batch_1000.produce_consume_per_s)}/s`, `CPU: ${cpuOf(r.bus_limit.batch_1000.cpu_percent)}`],
    ['  same, 10-record batches', `${n0(r.bus_limit.batch_10.produce_consume_per_s)}/s`, `CPU: ${cpuOf(r.bus_limit.batch_10.cpu_percent)}`],
    ['  same, 1-record batches', `${n0(r.bus_limit.batch_1.produce_consume_per_s)}/s`, `CPU: ${cpuOf(r.bus_limit.batch_1.cpu_percent)}`],
    [`API accepted/s at saturation (${n0(r.api_saturation.offered_rate)}/s offered)`, `${n0(r.api_saturation.accepted_per_s)}/s`, `${pct(r.ratios.api_saturation_vs_bare_http ?? null)} of bare HTTP`],
    [
      `Chat4All sustained: ${sr.runs} × ${sr.seconds_each} s at ${n0(r.offered_rate)}/s offered${r.sustained ? ', lag flat' : ', NOT sustained'}`,
      `${mmm(sr.delivered_per_s, '/s')}`,
      'delivered (DELIVERED stored) min / median / max',
    ],
    ['  e2e accept→DELIVERED stored p50, min / median / max', mmm(sr.e2e_p50_ms, ' ms'), ''],
    ['  e2e accept→DELIVERED stored p99, min / median / max', mmm(sr.e2e_p99_ms, ' ms'), `goal ${n0(r.goal.rate)}/s at p99 ≤ ${r.goal.e2e_p99_ms} ms: ${r.goal.met ? 'met' : 'not met'}`],
    ['  consumer lag slope per run (records/s)', sr.lag_slope_per_s.map((x) => (x === null ? '?' : String(x))).join(' / '), ''],
    ['  delivered vs raw bus (1000 / 10 / 1-record batches)', `${pct(r.ratios.delivered_vs_raw_bus ?? null)} / ${pct(r.ratios.delivered_vs_raw_bus_batch_10 ?? null)} / ${pct(r.ratios.delivered_vs_raw_bus_batch_1 ?? null)}`, ''],
    [
      'CPU ms per delivered message: platform / simulator / generator',
      `${r.cpu_ms_per_message.platform} / ${r.cpu_ms_per_message.simulator} / ${r.cpu_ms_per_message.generator}`,
      Object.entries(r.cpu_ms_per_message.per_process)
        .map(([k, v]) => `${k} ${v ?? '?'}`)
        .join(', '),
    ],
    [
      'max sustained 10 s step: two routers / one router',
      `${r.routers.two.max_sustained_step_rate ?? 'none'} / ${r.routers.one ? (r.routers.one.max_sustained_step_rate ?? 'none') : 'not measured'}`,
      r.ratios.one_router_vs_two === null || r.ratios.one_router_vs_two === undefined ? '' : `one router ${pct(r.ratios.one_router_vs_two)} of two`,
    ],
    ['lost / duplicates / out of order (all runs)', `${r.lost} / ${r.duplicates} / ${r.out_of_order}`, ''],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const lines = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  const stepsOf = (runs: RateRun[]) => runs.map((st) => `${st.offered_rate}/s→${n0(st.delivered_per_s)}${st.sustained ? '' : '✗'}`).join('  ');
  const at = r.long_runs[Math.floor(r.long_runs.length / 2)] ?? r.steps.find((st) => st.offered_rate === r.offered_rate);
  const cpuAt = at?.cpu_percent ?? {};
  const totalCpu = Object.values(cpuAt).reduce((a: number, v) => a + (v ?? 0), 0);
  const loops = Object.entries(at?.eventloop_p99_ms ?? {})
    .map(([k, v]) => `${k} ${v ?? '?'} ms`)
    .join(', ');
  const text = [
    '',
    `Chat4All benchmark — ${r.machine.cores} cores, ${r.machine.memory_gb} GB, commit ${r.git_commit ?? 'unknown'}`,
    ...lines,
    `steps, two routers (offered→delivered/s): ${stepsOf(r.steps)}`,
    ...(r.one_router_steps.length > 0 ? [`steps, one router: ${stepsOf(r.one_router_steps)}`] : []),
    `CPU at the sustained rate (% of one core): ${cpuOf(cpuAt)} — ${totalCpu}% of the machine's ${r.machine.cores * 100}%`,
    `event-loop delay p99 there: ${loops}`,
  ].join('\n');
  return { rows, text };
}

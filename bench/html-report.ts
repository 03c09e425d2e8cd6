import { esc, lineChart, type Series } from '../loadtest/svg-chart.ts';

/** What the HTML report needs of one run at a fixed offered rate. */
export interface ChartRun {
  offered_rate: number;
  accepted_per_s: number;
  delivered_per_s: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  sustained: boolean;
}

/** The benchmark's result as the HTML report shows it. */
export interface BenchReportData {
  title: string;
  /** Rows of the summary table: label, value, note. */
  summary: [string, string, string][];
  /** The rate steps with two routers, and with one (empty when not measured). */
  steps: ChartRun[];
  oneRouterSteps: ChartRun[];
  /** CPU ms per delivered message, per process, at the sustained rate. */
  cpuPerMessage: Record<string, number | null>;
  /** Consumer lag over each sustained run (seconds, records). */
  lagRuns: { label: string; samples: { t: number; lag: number }[] }[];
  json: string;
}

const byRate = (runs: ChartRun[]) => [...runs].sort((a, b) => a.offered_rate - b.offered_rate);

/**
 * One self-contained HTML page (inline SVG, no scripts): offered vs delivered rate and the
 * accept→delivered p50/p99 against the offered rate, so the knee is visible; one router vs two;
 * consumer lag over the sustained runs; CPU per message per process; the whole JSON.
 */
export function benchHtml(d: BenchReportData): string {
  const steps = byRate(d.steps);
  const one = byRate(d.oneRouterSteps);
  const rateSeries: Series[] = [
    { label: 'offered', color: '#999', points: steps.map((s) => ({ x: s.offered_rate, y: s.offered_rate })) },
    { label: 'accepted (2 routers)', color: '#1f77b4', points: steps.map((s) => ({ x: s.offered_rate, y: s.accepted_per_s })) },
    { label: 'delivered (2 routers)', color: '#2ca02c', points: steps.map((s) => ({ x: s.offered_rate, y: s.delivered_per_s })) },
  ];
  if (one.length > 0) rateSeries.push({ label: 'delivered (1 router)', color: '#ff7f0e', points: one.map((s) => ({ x: s.offered_rate, y: s.delivered_per_s })) });
  const latencySeries: Series[] = [
    { label: 'e2e p50', color: '#2ca02c', points: steps.map((s) => ({ x: s.offered_rate, y: s.e2e_p50_ms })) },
    { label: 'e2e p99', color: '#d62728', points: steps.map((s) => ({ x: s.offered_rate, y: s.e2e_p99_ms })) },
  ];
  const lagSeries: Series[] = d.lagRuns.map((r, i) => ({ label: r.label, color: ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'][i % 4]!, points: r.samples.map((s) => ({ x: s.t, y: s.lag })) }));
  const row = (cells: string[], tag = 'td') => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  const stepRows = [...steps.map((s) => ['2', s]), ...one.map((s) => ['1', s])] as [string, ChartRun][];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:960px}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}th{background:#f4f4f4}.bad{color:#b00}</style>
</head><body>
<h1>${esc(d.title)}</h1>
<table>${d.summary.map((r) => row(r)).join('\n')}</table>
<h2>Offered vs delivered: where the knee is</h2>
${lineChart(rateSeries, { title: 'rate (msg/s) by offered rate, one step each', yUnit: 'msg/s', xUnit: 'offered msg/s' })}
${lineChart(latencySeries, { title: 'accept → DELIVERED stored, by offered rate', yUnit: 'ms', xUnit: 'offered msg/s' })}
<table>${row(['routers', 'offered/s', 'accepted/s', 'delivered/s', 'e2e p50 ms', 'e2e p99 ms', 'sustained'], 'th')}
${stepRows.map(([r, s]) => row([r, String(s.offered_rate), String(s.accepted_per_s), String(s.delivered_per_s), String(s.e2e_p50_ms), String(s.e2e_p99_ms), s.sustained ? 'yes' : 'no'])).join('\n')}</table>
${lagSeries.length > 0 ? `<h2>Consumer lag over the sustained runs</h2>\n${lineChart(lagSeries, { title: 'total consumer lag (records)', yUnit: 'records' })}` : ''}
<h2>CPU per delivered message, at the sustained rate</h2>
<table>${row(['process', 'CPU ms / message'], 'th')}
${Object.entries(d.cpuPerMessage).map(([k, v]) => row([k, v === null ? 'n/a' : v.toFixed(2)])).join('\n')}</table>
<h2>Everything (latest.json)</h2>
<pre style="font-size:11px;white-space:pre-wrap">${esc(d.json)}</pre>
</body></html>
`;
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadProgress, LoadResult } from './generator.ts';
import type { Plan } from './scenarios.ts';
import { errorRate, type Verdict } from './verdict.ts';
import { esc, lineChart } from './svg-chart.ts';

/** Everything one `chat4all loadtest` run knows, as written to `result.json`. */
export interface LoadReport {
  scenario: string;
  description: string;
  verdict: Verdict;
  plan: Omit<Plan, 'rate'>;
  target: { api_url: string; sim_url: string };
  /** Absent when the run failed before it had results. */
  result: LoadResult | null;
  git_commit: string | null;
  generated_at: string;
}

export interface ReportFiles {
  dir: string;
  json: string;
  markdown: string;
  html: string;
}

/** Where a run's reports go by default: `reports/loadtest/<scenario>-<timestamp>/`. */
export function defaultReportDir(scenario: string, at = new Date()): string {
  return join('reports', 'loadtest', `${scenario}-${at.toISOString().replace(/[:.]/g, '-')}`);
}

/** Writes `result.json`, `summary.md` and `report.html` into `dir`. */
export function writeReports(dir: string, report: LoadReport): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = { dir, json: join(dir, 'result.json'), markdown: join(dir, 'summary.md'), html: join(dir, 'report.html') };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.markdown, markdownSummary(report));
  writeFileSync(files.html, htmlReport(report));
  return files;
}

const STATUS_WORD = { passed: 'PASSED', failed: 'FAILED', error: 'ERROR (no verdict)' } as const;

function summaryRows(r: LoadResult): [string, string][] {
  const answers = Object.entries(r.answers)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return [
    ['offered', `${r.offered} (${r.offered_rate}/s)`],
    ['accepted (202)', `${r.accepted} (${r.accepted_per_s}/s)`],
    ['failed / dropped by client', `${r.failed} / ${r.dropped_by_client} (error rate ${(errorRate(r) * 100).toFixed(3)} %)`],
    ['delivered', `${r.delivered} (${r.delivered_per_s}/s)`],
    ['lost / duplicates / out of order', `${r.lost} / ${r.duplicates} / ${r.out_of_order}`],
    ['HTTP p50 / p95 / p99 / max', `${r.http_ms.p50} / ${r.http_ms.p95} / ${r.http_ms.p99} / ${r.http_ms.max} ms`],
    ['accept→delivered p50 / p95 / p99 / max', `${r.e2e_ms.p50} / ${r.e2e_ms.p95} / ${r.e2e_ms.p99} / ${r.e2e_ms.max} ms`],
    ['answers', answers || 'none'],
    ['generator', `${r.connections} connections, at most ${r.max_in_flight} in flight, tick late by up to ${r.max_schedule_lag_ms} ms, ${r.poll_errors} failed polls`],
    ['window', `${r.started_at} → ${r.ended_at}`],
  ];
}

export function markdownSummary(report: LoadReport): string {
  const lines = [
    `# Load test \`${report.scenario}\`: ${STATUS_WORD[report.verdict.status]}`,
    '',
    `${report.description}. Target ${report.target.api_url}, ${report.plan.conversations} conversations, ` +
      `${report.plan.duration_ms / 1000} s, start ${round(report.plan.start_rate)} msg/s, peak ${round(report.plan.peak_rate)} msg/s.`,
    '',
  ];
  if (report.verdict.error) lines.push(`**The run itself failed:** ${report.verdict.error}`, '');
  if (report.verdict.checks.length > 0) {
    lines.push('| check | limit | actual | |', '| --- | --- | --- | --- |');
    for (const c of report.verdict.checks) lines.push(`| ${c.name} | ${c.limit} | ${c.actual} | ${c.pass ? 'pass' : '**FAIL**'} |`);
    lines.push('');
  }
  if (report.result) {
    lines.push('| measure | value |', '| --- | --- |');
    for (const [k, v] of summaryRows(report.result)) lines.push(`| ${k} | ${v} |`);
    lines.push('');
    if (report.result.lost_sample.length > 0) {
      lines.push('Lost (first ones): ' + report.result.lost_sample.map((l) => `\`${l.message_id}\` (${l.text})`).join(', '), '');
    }
  }
  return `${lines.join('\n')}\n`;
}

export function htmlReport(report: LoadReport): string {
  const r = report.result;
  const status = report.verdict.status;
  const color = status === 'passed' ? '#1a7f37' : status === 'failed' ? '#cf222e' : '#9a6700';
  const checks = report.verdict.checks
    .map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.limit)}</td><td>${c.actual}</td><td class="${c.pass ? 'ok' : 'bad'}">${c.pass ? 'pass' : 'FAIL'}</td></tr>`)
    .join('\n');
  const charts: string[] = [];
  if (r) {
    const tl = r.timeline;
    const pts = (f: (p: (typeof tl)[number]) => number) => tl.map((p) => ({ x: p.t_s, y: f(p) }));
    charts.push(
      lineChart(
        [
          { label: 'offered/s', color: '#8c959f', points: pts((p) => p.offered_per_s) },
          { label: 'accepted/s', color: '#0969da', points: pts((p) => p.accepted_per_s) },
          { label: 'delivered/s', color: '#1a7f37', points: pts((p) => p.delivered_per_s) },
        ],
        { title: 'Messages per second', yUnit: 'msg/s' },
      ),
      lineChart([{ label: 'HTTP p99', color: '#bf3989', points: pts((p) => p.http_p99_ms) }], { title: 'HTTP latency (POST /v1/messages)', yUnit: 'ms' }),
      lineChart(
        [
          { label: 'e2e p50', color: '#0969da', points: pts((p) => p.e2e_p50_ms) },
          { label: 'e2e p99', color: '#cf222e', points: pts((p) => p.e2e_p99_ms) },
        ],
        { title: 'Accepted → delivered at the provider', yUnit: 'ms' },
      ),
    );
  }
  const rows = r ? summaryRows(r).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('\n') : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Chat4All load test ${esc(report.scenario)}: ${STATUS_WORD[status]}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;max-width:920px}
h1 span{color:${color}}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}svg{display:block;margin:18px 0}
.note{color:#59636e}
</style></head><body>
<h1>Load test <code>${esc(report.scenario)}</code>: <span>${STATUS_WORD[status]}</span></h1>
<p>${esc(report.description)}. Target <code>${esc(report.target.api_url)}</code> (simulator <code>${esc(report.target.sim_url)}</code>),
${report.plan.conversations} conversations, ${report.plan.duration_ms / 1000} s, start ${round(report.plan.start_rate)} msg/s, peak ${round(report.plan.peak_rate)} msg/s.</p>
${report.verdict.error ? `<p class="bad">The run itself failed: ${esc(report.verdict.error)}</p>` : ''}
<h2>Thresholds</h2>
<table><tr><th>check</th><th>limit</th><th>actual</th><th></th></tr>
${checks}
</table>
${r ? `<h2>Summary</h2><table>${rows}</table>` : ''}
${charts.length ? '<h2>Over time</h2>' : ''}
${charts.join('\n')}
<p class="note">Generated ${esc(report.generated_at)}${report.git_commit ? ` at commit ${esc(report.git_commit)}` : ''}. Open model: arrivals at the planned rate, answered or not.
Latency: HTTP from send to answer; e2e from the 202's <code>accepted_at</code> to the simulator's receipt.</p>
</body></html>
`;
}

/** Formats progress as one line. */
export function progressLine(label: string, p: LoadProgress, totalMs?: number): string {
  const pct = totalMs ? ` ${Math.min(100, Math.round((p.elapsed_ms / totalMs) * 100))}%` : '';
  return `[${label}] ${(p.elapsed_ms / 1000).toFixed(0)}s${pct}  offered ${p.offered}  accepted ${p.accepted}  failed ${p.failed}  delivered ${p.delivered}  in flight ${p.in_flight}`;
}

/**
 * A progress printer: one line rewritten in place on a TTY, a line every `everyMs` otherwise
 * (so CI logs stay short). `done()` ends the line.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr, everyMs = 10_000) {
  let last = 0;
  let open = false;
  return {
    update(line: string) {
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${line}`);
        open = true;
      } else if (Date.now() - last >= everyMs) {
        last = Date.now();
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

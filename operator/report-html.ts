import type { Journal } from './journal.ts';
import { routedSeries } from './analysis.ts';
import { esc, fmt, niceCeil } from '../loadtest/svg-chart.ts';

type JournalSample = Journal['series']['samples'][number];


interface Line {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

interface Frame {
  xMax: number;
  /** Seconds of the load during which the fault was applied. */
  fault: [number, number] | null;
  marks: { x: number; label: string }[];
}

const W = 880;
const M = { left: 56, right: 16, top: 30, bottom: 40 };


function frameParts(f: Frame, h: number, X: (x: number) => number): string[] {
  const parts: string[] = [];
  if (f.fault) {
    const [a, b] = f.fault;
    parts.push(`<rect class="fault-window" x="${X(a).toFixed(1)}" y="${M.top}" width="${Math.max(2, X(b) - X(a)).toFixed(1)}" height="${h}" fill="#cf222e" fill-opacity="0.12"><title>fault ${a}–${b} s</title></rect>`);
  }
  for (const m of f.marks) {
    parts.push(`<line x1="${X(m.x).toFixed(1)}" x2="${X(m.x).toFixed(1)}" y1="${M.top}" y2="${M.top + h}" stroke="#6e7781" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(X(m.x) + 3).toFixed(1)}" y="${M.top + 11}" font-size="10" fill="#57606a">${esc(m.label)}</text>`);
  }
  return parts;
}

function lineChart(title: string, yUnit: string, lines: Line[], f: Frame, height = 260): string {
  const h = height - M.top - M.bottom;
  const w = W - M.left - M.right;
  const yMax = niceCeil(Math.max(0, ...lines.flatMap((l) => l.points.map((p) => p.y))) * 1.05);
  const X = (x: number) => M.left + (Math.max(0, Math.min(x, f.xMax)) / f.xMax) * w;
  const Y = (y: number) => M.top + h - (Math.max(0, y) / yMax) * h;
  const parts = [`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${esc(title)}">`];
  parts.push(`<text x="${M.left}" y="18" font-size="14" font-weight="600">${esc(title)}</text>`);
  parts.push(...frameParts(f, h, X));
  for (let i = 0; i <= 4; i++) {
    const y = Y((yMax * i) / 4).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${M.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${fmt((yMax * i) / 4)}</text>`);
  }
  const step = niceCeil(f.xMax / 10);
  for (let x = 0; x <= f.xMax; x += step) parts.push(`<text x="${X(x).toFixed(1)}" y="${M.top + h + 16}" font-size="11" text-anchor="middle">${fmt(x)}</text>`);
  parts.push(`<text x="${M.left + w / 2}" y="${height - 4}" font-size="11" text-anchor="middle">seconds since the load started</text>`);
  parts.push(`<text x="12" y="${M.top + h / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${M.top + h / 2})">${esc(yUnit)}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  lines.forEach((l, i) => {
    if (l.points.length > 0) parts.push(`<polyline class="series" fill="none" stroke="${l.color}" stroke-width="1.8" points="${l.points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"><title>${esc(l.label)}</title></polyline>`);
    const lx = M.left + 230 + (i % 5) * 125;
    const ly = 10 + Math.floor(i / 5) * 12;
    parts.push(`<line x1="${lx}" x2="${lx + 14}" y1="${ly}" y2="${ly}" stroke="${l.color}" stroke-width="3"/><text x="${lx + 18}" y="${ly + 4}" font-size="11">${esc(l.label)}</text>`);
  });
  if (lines.every((l) => l.points.length === 0)) parts.push(`<text x="${M.left + w / 2}" y="${M.top + h / 2}" text-anchor="middle" font-size="13" fill="#57606a">no data</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

const STATE_COLOR: Record<string, string> = { running: '#2da44e', starting: '#bf8700', stopping: '#bf8700', stopped: '#8c959f', exited: '#cf222e', killed: '#cf222e', absent: '#ffffff' };

/** One lane per process, coloured by its state in each sample. */
function processChart(samples: JournalSample[], f: Frame): string {
  const names = [...new Set(samples.flatMap((s) => s.processes.map((p) => p.name)))];
  const lane = 18;
  const h = Math.max(1, names.length) * lane;
  const height = h + M.top + M.bottom;
  const w = W - M.left - M.right;
  const left = 150;
  const X = (x: number) => left + (Math.max(0, Math.min(x, f.xMax)) / f.xMax) * (W - left - M.right);
  const parts = [`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="process states">`];
  parts.push(`<text x="${M.left}" y="18" font-size="14" font-weight="600">Process states</text>`);
  names.forEach((name, i) => {
    const y = M.top + i * lane;
    parts.push(`<text x="${left - 6}" y="${y + lane / 2 + 4}" font-size="11" text-anchor="end">${esc(name)}</text>`);
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k]!;
      const next = samples[k + 1]?.t_s ?? s.t_s + 1;
      const state = s.processes.find((p) => p.name === name)?.state ?? 'absent';
      const x0 = X(s.t_s);
      const x1 = X(next);
      if (x1 <= x0) continue;
      parts.push(`<rect class="state" x="${x0.toFixed(1)}" y="${y + 2}" width="${(x1 - x0).toFixed(1)}" height="${lane - 4}" fill="${STATE_COLOR[state] ?? '#57606a'}"><title>${esc(`${name} ${state} at ${s.t_s.toFixed(1)} s`)}</title></rect>`);
    }
  });
  const fx = { ...f };
  parts.push(...frameParts(fx, h, X));
  const step = niceCeil(f.xMax / 10);
  for (let x = 0; x <= f.xMax; x += step) parts.push(`<text x="${X(x).toFixed(1)}" y="${M.top + h + 16}" font-size="11" text-anchor="middle">${fmt(x)}</text>`);
  let lx = M.left + 230;
  for (const st of ['running', 'starting', 'stopped', 'killed']) {
    parts.push(`<rect x="${lx}" y="6" width="12" height="10" fill="${STATE_COLOR[st]}"/><text x="${lx + 16}" y="15" font-size="11">${st}</text>`);
    lx += 90;
  }
  void w;
  parts.push('</svg>');
  return parts.join('\n');
}

const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#e16f24', '#116329', '#6639ba', '#0550ae', '#a40e26', '#57606a', '#bc4c00'];

/** The self-contained HTML report (inline SVG, no scripts, works offline). */
export function renderHtmlReport(j: Journal): string {
  const tl = j.series.timeline;
  const samples = j.series.samples;
  const loadS = j.experiment.timing.warmup_s + j.experiment.timing.fault_duration_s + j.experiment.timing.observe_s;
  const xMax = Math.max(loadS, ...tl.map((p) => p.t_s + 1), ...samples.map((s) => s.t_s));
  const inj = j.injection;
  const fault: [number, number] | null = inj ? [inj.t_s, inj.stopped_t_s !== null && inj.stopped_t_s > inj.t_s ? inj.stopped_t_s : j.experiment.fault.type === 'kill' ? loadS : inj.t_s + 0.5] : null;
  const marks = j.method.filter((m) => ['takeover', 'fault stopped', 'steady state before'].includes(m.step) && m.t_s >= 0).map((m) => ({ x: m.t_s, label: m.step }));
  const f: Frame = { xMax, fault, marks };
  const pts = (k: 'offered_per_s' | 'accepted_per_s' | 'delivered_per_s' | 'e2e_p50_ms' | 'e2e_p99_ms' | 'http_p99_ms', onlyDelivered = false) =>
    tl.filter((p) => !onlyDelivered || p.delivered_per_s > 0).map((p) => ({ x: p.t_s + 0.5, y: p[k] }));
  const positive = samples.filter((s) => s.t_s >= 0);
  const routed = routedSeries(positive).map((p) => ({ x: p.t, y: p.v }));
  const partitions = [...new Set(positive.flatMap((s) => Object.keys(s.lag ?? {})))].sort((a, b) => Number(a) - Number(b));
  const lagLines: Line[] = partitions.map((p, i) => ({ label: `p${p}`, color: PALETTE[i % PALETTE.length]!, points: positive.filter((s) => s.lag?.[p] !== undefined).map((s) => ({ x: s.t_s, y: s.lag[p]! })) }));
  const conns = [...new Set(positive.flatMap((s) => Object.keys(s.connectors)))];
  const connLines: Line[] = conns.flatMap((c, i) => [
    { label: `${c} waiting`, color: PALETTE[i * 2]!, points: positive.filter((s) => s.connectors[c]?.waiting != null).map((s) => ({ x: s.t_s, y: s.connectors[c]!.waiting! })) },
    { label: `${c} breaker×10`, color: PALETTE[i * 2 + 1]!, points: positive.filter((s) => s.connectors[c]?.breaker_state != null).map((s) => ({ x: s.t_s, y: s.connectors[c]!.breaker_state! * 10 })) },
  ]);
  const verdictColor = { Pass: '#1a7f37', Fail: '#cf222e', Inconclusive: '#9a6700' }[j.verdict];
  const v = j.verification;
  const numbers = Object.entries(v).filter(([k]) => k !== 'rules');
  const probeRows = (s: Journal['steady_state_before']) =>
    s.probes.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.tolerance)}</td><td>${p.observed ?? '—'}</td><td class="${p.ok ? 'ok' : 'bad'}">${p.ok ? 'yes' : 'no'}</td><td>${esc(p.source)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(j.experiment.name)} — ${j.verdict}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:960px;color:#1f2328}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;font-size:13px;vertical-align:top}
.verdict{font-size:1.6rem;font-weight:700;color:${verdictColor}}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}
svg{display:block;margin:1rem 0;background:#fff}code{background:#f6f8fa;padding:0 .2rem}
</style></head><body>
<h1>Experiment <code>${esc(j.experiment.name)}</code></h1>
<p class="verdict" id="verdict">${j.verdict}</p>
<p>${esc(j.reason)}</p>
<p>Run <code>${esc(j.run_id)}</code> on the ${esc(j.platform)} platform, ${esc(j.started_at)} → ${esc(j.ended_at)}. The shaded band is the fault window.</p>
<p>${esc(j.experiment.description)}</p>
<h2>Numbers</h2>
<table><tbody>${numbers.map(([k, x]) => `<tr><th>${esc(k)}</th><td>${x === null || x === undefined ? '—' : esc(String(x))}</td></tr>`).join('')}</tbody></table>
<h2>Charts</h2>
${lineChart('Throughput', 'messages/s', [
    { label: 'offered/s', color: '#8c959f', points: pts('offered_per_s') },
    { label: 'accepted/s', color: '#0969da', points: pts('accepted_per_s') },
    { label: 'delivered/s', color: '#1a7f37', points: pts('delivered_per_s') },
    { label: 'routed/s', color: '#8250df', points: routed },
  ], f)}
${lineChart('Latency', 'ms', [
    { label: 'e2e p50', color: '#1a7f37', points: pts('e2e_p50_ms', true) },
    { label: 'e2e p99', color: '#cf222e', points: pts('e2e_p99_ms', true) },
    { label: 'HTTP p99', color: '#0969da', points: pts('http_p99_ms') },
  ], f)}
${lineChart('Consumer lag per partition (routers, accepted topic)', 'records', lagLines, f)}
${processChart(positive, f)}
${lineChart('Connectors: deliveries waiting, breaker state (0 closed, 10 open, 20 half-open)', 'count', connLines, f)}
<h2>Steady state before ${j.steady_state_before.ok ? '<span class="ok">met</span>' : '<span class="bad">not met</span>'}</h2>
<table><thead><tr><th>probe</th><th>tolerance</th><th>observed</th><th>ok</th><th>how</th></tr></thead><tbody>${probeRows(j.steady_state_before)}</tbody></table>
<h2>Steady state after ${j.steady_state_after.ok ? '<span class="ok">met</span>' : '<span class="bad">not met</span>'}</h2>
<table><thead><tr><th>probe</th><th>tolerance</th><th>observed</th><th>ok</th><th>how</th></tr></thead><tbody>${probeRows(j.steady_state_after)}</tbody></table>
<h2>Verification</h2>
<table><thead><tr><th>rule</th><th>observed</th><th>ok</th></tr></thead><tbody>${v.rules.map((r) => `<tr><td>${esc(r.name)}</td><td>${r.observed ?? '—'}</td><td class="${r.ok ? 'ok' : 'bad'}">${r.ok ? 'yes' : esc(r.message)}</td></tr>`).join('')}</tbody></table>
<h2>What was injected</h2>
${inj ? `<p>${esc(inj.type)} on ${esc(inj.targets.join(', '))} at ${inj.t_s} s; landed: <b class="${inj.landed ? 'ok' : 'bad'}">${inj.landed ? 'yes' : 'no'}</b></p><ul>${inj.proof.map((p) => `<li>${esc(p)}</li>`).join('')}</ul><pre>${esc(JSON.stringify(inj.details, null, 2))}</pre>` : '<p>Nothing was injected.</p>'}
<h2>Method</h2>
<table><thead><tr><th>t (s)</th><th>step</th><th>detail</th></tr></thead><tbody>${j.method.map((m) => `<tr><td>${m.t_s}</td><td>${esc(m.step)}</td><td>${esc(m.detail ?? '')}</td></tr>`).join('')}</tbody></table>
<h2>Rollback ${j.rollback.ok ? '<span class="ok">complete</span>' : '<span class="bad">incomplete</span>'}</h2>
<ul>${j.rollback.steps.map((s) => `<li>${s.t_s} s: ${esc(s.step)}${s.detail ? `: ${esc(s.detail)}` : ''}</li>`).join('')}</ul>
${j.notes.length ? `<h2>Notes</h2><ul>${j.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}

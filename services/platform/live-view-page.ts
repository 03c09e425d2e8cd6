/**
 * The live view's page: one self-contained HTML document (inline CSS, JS and SVG; nothing from a
 * CDN, the machine may be offline) that polls `live.json` every second and redraws.
 */
export const LIVE_VIEW_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Chat4All — live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --bg:#0f1419; --panel:#171e26; --grid:#2a3440; --text:#d8dee6; --muted:#8a96a3;
          --c1:#4fc3f7; --c2:#81c784; --c3:#ffb74d; --c4:#e57373; --c5:#ba68c8; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { padding:10px 16px; display:flex; gap:16px; align-items:baseline; border-bottom:1px solid var(--grid); }
  header h1 { font-size:18px; margin:0; }
  header .status { color:var(--muted); }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(440px, 1fr)); gap:12px; padding:12px; }
  section { background:var(--panel); border-radius:6px; padding:10px 12px; }
  section h2 { font-size:14px; margin:0 0 6px; font-weight:600; }
  .legend { display:flex; gap:14px; flex-wrap:wrap; font-size:12px; color:var(--muted); min-height:18px; }
  .legend b { color:var(--text); font-weight:600; }
  .sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
  svg.chart { width:100%; height:180px; display:block; }
  svg.chart text { fill:var(--muted); font-size:10px; }
  .tiles { display:flex; gap:10px; flex-wrap:wrap; }
  .tile { border-radius:6px; padding:10px 14px; min-width:140px; background:#1f2933; }
  .tile .name { color:var(--muted); font-size:12px; }
  .tile .value { font-size:20px; font-weight:600; }
  .closed { border-left:4px solid var(--c2); } .open { border-left:4px solid var(--c4); } .half-open { border-left:4px solid var(--c3); }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--grid); }
  th { color:var(--muted); font-weight:500; }
  .state-running { color:var(--c2); } .state-killed, .state-exited { color:var(--c4); } .state-starting, .state-stopping { color:var(--c3); }
</style>
</head>
<body>
<header><h1>Chat4All — live</h1><span class="status" id="status">connecting…</span></header>
<main>
  <section><h2>Messages per second</h2><div class="legend" id="legend-throughput"></div><svg class="chart" id="chart-throughput" data-testid="throughput"></svg></section>
  <section><h2>Accept → delivered latency (ms)</h2><div class="legend" id="legend-latency"></div><svg class="chart" id="chart-latency" data-testid="latency"></svg></section>
  <section><h2>Consumer lag (records)</h2><div class="legend" id="legend-lag"></div><svg class="chart" id="chart-lag" data-testid="lag"></svg></section>
  <section><h2>Circuit breakers and waiting deliveries</h2><div class="tiles" id="breakers" data-testid="breakers"></div></section>
  <section style="grid-column:1/-1"><h2>Processes</h2><table id="processes" data-testid="processes"><thead><tr><th>name</th><th>role</th><th>pid</th><th>state</th><th>uptime</th><th>restarts</th><th>url</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
"use strict";
const COLORS = ['var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)', 'var(--c5)'];
const NS = 'http://www.w3.org/2000/svg';
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  if (v >= 100) return Math.round(v).toString();
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
/** Draws series [{name, values:[number|null]}] over the same x axis into an SVG; sets data-* for checks. */
function lineChart(svg, legend, series, unit, spanS) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const w = svg.clientWidth || 600, h = svg.clientHeight || 180, pl = 44, pr = 8, pt = 8, pb = 18;
  let max = 0, n = 0;
  for (const s of series) { n = Math.max(n, s.values.length); for (const v of s.values) if (v !== null && v > max) max = v; }
  const top = max > 0 ? niceCeil(max) : 1;
  for (let i = 0; i <= 4; i++) {
    const y = pt + ((h - pt - pb) * i) / 4;
    el('line', { x1: pl, x2: w - pr, y1: y, y2: y, stroke: '#2a3440' }, svg);
    const t = el('text', { x: pl - 6, y: y + 3, 'text-anchor': 'end' }, svg);
    t.textContent = fmt(top * (1 - i / 4));
  }
  const xt = el('text', { x: w - pr, y: h - 4, 'text-anchor': 'end' }, svg);
  xt.textContent = 'now';
  const xs = el('text', { x: pl, y: h - 4 }, svg);
  xs.textContent = '-' + Math.round(spanS) + ' s';
  const x = (i) => pl + (n <= 1 ? 0 : ((w - pl - pr) * i) / (n - 1));
  const y = (v) => pt + (h - pt - pb) * (1 - v / top);
  legend.textContent = '';
  series.forEach((s, k) => {
    let d = '';
    s.values.forEach((v, i) => { if (v === null) return; d += (d && s.values[i - 1] !== null ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1); });
    el('path', { d, fill: 'none', stroke: COLORS[k % COLORS.length], 'stroke-width': 2, class: 'series', 'data-name': s.name }, svg);
    const last = [...s.values].reverse().find((v) => v !== null);
    const item = document.createElement('span');
    item.innerHTML = '<span class="sw" style="background:' + COLORS[k % COLORS.length] + '"></span>';
    item.append(s.name + ' ');
    const b = document.createElement('b');
    b.textContent = fmt(last) + (unit ? ' ' + unit : '');
    item.append(b);
    legend.appendChild(item);
  });
  svg.dataset.max = String(max);
  svg.dataset.points = String(n);
}
function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
const BREAKER = { 0: 'closed', 1: 'open', 2: 'half-open' };
function uptime(p) {
  if (p.state !== 'running' || !p.started_at) return '';
  const s = Math.round((Date.now() - p.started_at) / 1000);
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}
function render(data) {
  const pts = data.points;
  const span = pts.length > 1 ? (pts[pts.length - 1].t - pts[0].t) / 1000 : 0;
  lineChart(document.getElementById('chart-throughput'), document.getElementById('legend-throughput'), [
    { name: 'accepted/s', values: pts.map((p) => p.accepted_per_s) },
    { name: 'delivered/s', values: pts.map((p) => p.delivered_per_s) },
  ], '', span);
  const ms = (v) => (v === null ? null : v * 1000);
  lineChart(document.getElementById('chart-latency'), document.getElementById('legend-latency'), [
    { name: 'p50', values: pts.map((p) => ms(p.p50)) },
    { name: 'p95', values: pts.map((p) => ms(p.p95)) },
    { name: 'p99', values: pts.map((p) => ms(p.p99)) },
  ], 'ms', span);
  const groups = [...new Set(pts.flatMap((p) => Object.keys(p.lag)))].sort();
  lineChart(document.getElementById('chart-lag'), document.getElementById('legend-lag'),
    groups.map((g) => ({ name: g.replace(/^chat4all-/, ''), values: pts.map((p) => (g in p.lag ? p.lag[g] : null)) })), '', span);
  const tiles = document.getElementById('breakers');
  tiles.textContent = '';
  const channels = [...new Set([...Object.keys(data.breakers), ...Object.keys(data.waiting)])].sort();
  for (const ch of channels) {
    const state = BREAKER[data.breakers[ch]] || 'closed';
    const t = document.createElement('div');
    t.className = 'tile ' + state;
    t.dataset.channel = ch;
    t.dataset.state = state;
    t.innerHTML = '<div class="name"></div><div class="value"></div><div class="name waiting"></div>';
    t.children[0].textContent = ch + ' breaker';
    t.children[1].textContent = state;
    t.children[2].textContent = (data.waiting[ch] || 0) + ' waiting';
    tiles.appendChild(t);
  }
  const body = document.querySelector('#processes tbody');
  body.textContent = '';
  for (const p of data.processes) {
    const tr = document.createElement('tr');
    for (const [v, cls] of [[p.name], [p.role], [p.pid ?? ''], [p.state, 'state-' + p.state], [uptime(p)], [Math.max(0, p.restarts)], [p.url ?? '']]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const err = data.scrape_errors.length ? ' · no metrics from ' + data.scrape_errors.join(', ') : '';
  document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString() + ' · every ' + data.interval_ms + ' ms · percentiles over ' + data.window_s + ' s' + err;
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}
async function poll() {
  try {
    const res = await fetch('live.json', { cache: 'no-store' });
    if (res.ok) render(await res.json());
    else document.getElementById('status').textContent = 'live.json answered ' + res.status;
  } catch (e) {
    document.getElementById('status').textContent = 'the platform does not answer (' + e.message + ')';
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;

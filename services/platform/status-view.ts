import type { ProcessInfo } from './supervisor.ts';

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));

export function uptime(p: ProcessInfo, now = Date.now()): string {
  if (!p.started_at || (p.state !== 'running' && p.state !== 'starting')) return '-';
  const s = Math.floor((now - p.started_at) / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The process table, as `platform ps` and the live view print it. */
export function processTable(processes: ProcessInfo[], now = Date.now()): string {
  const rows = [['NAME', 'PID', 'ROLE', 'STATE', 'UPTIME', 'URL']];
  for (const p of processes) {
    const state = p.state === 'exited' || p.state === 'killed' ? `${p.state}(${p.signal ?? p.exit_code ?? ''})` : p.state;
    rows.push([p.name, p.pid ? String(p.pid) : '-', p.role, state, uptime(p, now), p.stream_url ?? p.url ?? '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)) + 2);
  return rows.map((r) => r.map((c, i) => pad(c, widths[i]!)).join('').trimEnd()).join('\n');
}

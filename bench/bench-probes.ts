/** What `make bench` measures beside the load: CPU per message, batch sizes, event-loop delay, the bare HTTP server. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Supervisor } from '../services/platform/supervisor.ts';
import type { LoadResult } from '../loadtest/generator.ts';
import { HttpClient } from '../loadtest/http-client.ts';
import { fetchMetrics, maxOf, parsePromText } from '../services/core/prom-text.ts';
import type { LagVerdict } from './lag-sampler.ts';
import type { RateRun, Settings } from './bench-settings.ts';

/** CPU ms per delivered message per process (% of one core ÷ messages/s × 10 ms), and grouped. */
export function cpuPerMessage(run: RateRun) {
  const per = (pct: number | null) => (pct === null || run.delivered_per_s <= 0 ? null : Math.round(((pct * 10) / run.delivered_per_s) * 100) / 100);
  const per_process = Object.fromEntries(Object.entries(run.cpu_percent).map(([k, v]) => [k, per(v)]));
  const group = (names: string[]) => Math.round(names.reduce((a, n) => a + (per_process[n] ?? 0), 0) * 100) / 100;
  const names = Object.keys(per_process);
  const platform = names.filter((n) => n !== 'generator' && n !== 'provider-sim');
  return { per_process, platform: group(platform), simulator: group(['provider-sim']), generator: group(['generator']), platform_processes: platform };
}

/** Sums every `*batch*` metric the platform's processes expose (e.g. records per produce), by name. */
export async function platformBatchSizes(urls: () => string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    urls().map(async (url) => {
      const text = await fetchMetrics(url, 2000);
      for (const m of text === null ? [] : parsePromText(text)) {
        if (!/batch/.test(m.name) || m.name.endsWith('_bucket')) continue;
        out[m.name] = (out[m.name] ?? 0) + m.value;
      }
    }),
  );
  return out;
}

/** Scrapes `nodejs_eventloop_lag_p99_seconds` from every service process, in ms (null when it does not answer). */
export async function eventLoopP99(supervisor: Supervisor): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  await Promise.all(
    supervisor
      .ps()
      .filter((p) => p.url && p.state === 'running')
      .map(async (p) => {
        const text = await fetchMetrics(p.url!, 3000);
        const p99 = text === null ? null : maxOf(parsePromText(text), 'nodejs_eventloop_lag_p99_seconds');
        out[p.name] = p99 === null ? null : Math.round(p99 * 10_000) / 10;
      }),
  );
  return out;
}

export function summarize(rate: number, r: LoadResult, s: Settings, cpuPercent: Record<string, number | null>, lag?: LagVerdict): Omit<RateRun, 'eventloop_p99_ms'> {
  const reasons: string[] = [];
  const tracked = r.delivered > 0 || r.lost > 0;
  if (r.lost > 0) reasons.push(`${r.lost} not delivered (stored) within ${s.deadlineMs / 1000} s`);
  if (r.failed + r.dropped_by_client > 0.01 * r.offered) reasons.push(`${r.failed} failed, ${r.dropped_by_client} dropped by the client`);
  if (tracked && r.delivered_per_s < 0.9 * rate) reasons.push(`delivered ${r.delivered_per_s}/s < 90 % of ${rate}/s`);
  if (r.e2e_ms.p99 > s.e2eP99BoundMs) reasons.push(`e2e p99 ${r.e2e_ms.p99} ms > ${s.e2eP99BoundMs} ms`);
  if (lag && !lag.flat) reasons.push(`consumer lag grew ${lag.slope_per_s} records/s`);
  return {
    offered_rate: rate,
    accepted_per_s: r.accepted_per_s,
    delivered_per_s: r.delivered_per_s,
    e2e_p50_ms: r.e2e_ms.p50,
    e2e_p99_ms: r.e2e_ms.p99,
    http_p99_ms: r.http_ms.p99,
    lost: r.lost,
    duplicates: r.duplicates,
    out_of_order: r.out_of_order,
    failed: r.failed,
    dropped_by_client: r.dropped_by_client,
    duration_s: r.duration_ms / 1000,
    sustained: reasons.length === 0,
    reason: reasons.length ? reasons.join('; ') : null,
    cpu_percent: cpuPercent,
    ...(lag ? { lag } : {}),
  };
}

/** Waits until the simulator has received nothing new for a second (the previous run drained), at most `boundMs`. */
export async function settle(simUrl: string, boundMs = 60_000) {
  const sim = new HttpClient(simUrl, { connections: 1, timeoutMs: 5000 });
  try {
    let last = -1;
    for (const deadline = Date.now() + boundMs; Date.now() < deadline; ) {
      const { last_index } = await sim.json<{ last_index: number }>('GET', `/_sim/received?after=${Number.MAX_SAFE_INTEGER}`);
      if (last_index === last) return;
      last = last_index;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    sim.close();
  }
}

export interface BareServer {
  url: string;
  pid: number;
  stop(): void;
}

/** Starts bench/bare-http-server.ts as its own process; `stop` ends it by its PID. */
export async function startBareServer(): Promise<BareServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(dirname(new URL(import.meta.url).pathname), 'bare-http-server.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pid = child.pid!;
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = () => {
    if (!exited) process.kill(pid, 'SIGTERM');
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bare HTTP server did not start within 15 s')), 15_000);
    child.once('exit', (code) => reject(new Error(`the bare HTTP server exited (code ${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^LISTENING (\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  }).catch((err: unknown) => {
    stop();
    throw err;
  });
  return { url: `http://127.0.0.1:${port}`, pid, stop };
}


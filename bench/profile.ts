/**
 * `make profile`: where the platform's CPU goes under load. Starts the local multi-process platform
 * with every Node process under `--cpu-prof`, drives a fixed offered rate with the load generator,
 * stops the platform gracefully (a profile is written on a clean exit) and prints, per process, its
 * CPU use during the load (from /proc) and the functions with the most self time, grouped by where
 * they live (our code, kafkajs, better-sqlite3, express, pino, node internals, GC, idle).
 *
 * Usage: npx tsx bench/profile.ts [--rate N] [--seconds S] [--routers N] [--partitions N] [--out DIR] [--env NAME=VALUE …]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Supervisor } from '../services/platform/supervisor.ts';
import { prepareConversations, runOpenLoad } from '../loadtest/generator.ts';
import { progressLine, progressPrinter } from '../loadtest/report.ts';
import { CpuSampler } from './cpu-sampler.ts';
import { fetchMetrics, parsePromText, sumOf } from '../services/core/prom-text.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function and per area of one profile, in ms. */
export interface ProfileSummary {
  total_ms: number;
  areas: { area: string; ms: number; percent: number }[];
  top: { fn: string; area: string; ms: number; percent: number }[];
}

/** Which part of the stack a frame belongs to. */
export function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, outside JS)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:') || url === '') return 'node internals';
  const ours = /\/(services|loadtest|operator|bench)\/(.+?)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return 'other';
}

export function summarizeProfile(p: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  const fns = new Map<string, { area: string; ms: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    const file = url.replace(/^.*\/(node_modules|services|loadtest|operator|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    const f = fns.get(key) ?? { area, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    total += ms;
  }
  const pct = (ms: number) => Math.round((ms / Math.max(total, 1)) * 1000) / 10;
  return {
    total_ms: Math.round(total),
    areas: [...areas].map(([area, ms]) => ({ area, ms: Math.round(ms), percent: pct(ms) })).sort((a, b) => b.ms - a.ms),
    top: [...fns]
      .filter(([, f]) => f.area !== 'idle')
      .map(([fn, f]) => ({ fn, area: f.area, ms: Math.round(f.ms), percent: pct(f.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

/** Mean of every `*_seconds` histogram a process exposes (summed over labels), from its `/metrics` text. */
export function histogramMeansOf(text: string): Record<string, { mean_ms: number; count: number }> {
  const samples = parsePromText(text);
  const out: Record<string, { mean_ms: number; count: number }> = {};
  for (const name of new Set(samples.map((x) => x.name).filter((n) => n.endsWith('_seconds_count')))) {
    const base = name.slice(0, -'_count'.length);
    const count = sumOf(samples, name) ?? 0;
    if (count > 0) out[base] = { mean_ms: Math.round(((sumOf(samples, `${base}_sum`) ?? 0) / count) * 10_000) / 10, count };
  }
  return out;
}

async function histogramMeans(procs: { name: string; url: string }[]) {
  const out: Record<string, Record<string, { mean_ms: number; count: number }>> = {};
  for (const p of procs) {
    const text = await fetchMetrics(p.url, 5000);
    if (text !== null) out[p.name] = histogramMeansOf(text);
  }
  return out;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number, got ${argv[i + 1] ?? 'nothing'}`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const known = ['--rate', '--seconds', '--routers', '--partitions', '--out', '--env'];
  const bad = argv.find((a, i) => a.startsWith('--') ? !known.includes(a) : !known.includes(argv[i - 1] ?? ''));
  if (bad) {
    log(`profile: unknown argument ${bad}\nusage: npx tsx bench/profile.ts [--rate N] [--seconds S] [--routers N] [--partitions N] [--out DIR] [--env NAME=VALUE …]`);
    return 2;
  }
  const rate = arg(argv, '--rate', 400);
  const seconds = arg(argv, '--seconds', 20);
  const routers = arg(argv, '--routers', 2);
  // Settings to try on every process (`--env KAFKA_LINGER_MS=10`), repeatable.
  const extraEnv = Object.fromEntries(
    argv.flatMap((a, i) => (a === '--env' && argv[i + 1]?.includes('=') ? [argv[i + 1]!.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])),
  );
  const outIdx = argv.indexOf('--out');
  const outDir = resolve(outIdx >= 0 ? argv[outIdx + 1]! : join('bench', 'results', 'profile'));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-profile-'));
  const supervisor = new Supervisor({
    dataDir,
    routers,
    partitions: arg(argv, '--partitions', 12),
    logLevel: 'warn',
    env: {
      SCRYPT_COST: '1024',
      WHATSAPP_RATE_PER_SENDER: '0',
      ...extraEnv,
    },
    // Each process writes CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile here when it exits cleanly.
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${outDir}`],
  });
  try {
    log(`starting the local platform with --cpu-prof (${routers} routers) …`);
    await supervisor.start();
    const target = { apiUrl: supervisor.apiUrl, simUrl: supervisor.simUrl };
    const prepared = await prepareConversations(target, 200);
    const pids: Record<string, number> = {};
    for (const p of supervisor.ps()) if (p.pid) pids[p.name] = p.pid;
    const names = new Map(Object.entries(pids).map(([name, pid]) => [pid, name]));
    const progress = progressPrinter(process.stderr, 5000);
    const cpu = new CpuSampler();
    cpu.start(pids);
    const loadStarted = performance.now();
    const result = await runOpenLoad({
      target,
      prepared,
      rate,
      durationMs: seconds * 1000,
      connections: 64,
      maxInFlight: 2000,
      deliveryDeadlineMs: 15_000,
      onProgress: (p) => progress.update(progressLine(`${rate}/s`, p, seconds * 1000)),
    });
    const cpuPercent = cpu.stop();
    // CPU per accepted message over the load and its drain, idle polling included: comparable
    // between runs on a busy machine, where throughput is not.
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const msPerMessage = (pct: number | null | undefined) => (pct == null || result.accepted === 0 ? null : Math.round(((pct / 100) * loadSeconds * 1000 * 100) / result.accepted) / 100);
    const totalPercent = Object.values(cpuPercent).reduce<number>((n, v) => n + (v ?? 0), 0);
    progress.done();
    const timings = await histogramMeans(supervisor.ps().filter((p) => p.url).map((p) => ({ name: p.name, url: p.url! })));
    log(`offered ${rate}/s: accepted ${result.accepted_per_s}/s, delivered ${result.delivered_per_s}/s, e2e p50 ${result.e2e_ms.p50} ms p99 ${result.e2e_ms.p99} ms, lost ${result.lost}`);
    log(`CPU per accepted message, all platform processes and the simulator: ${msPerMessage(totalPercent)} ms (${result.accepted} accepted in ${Math.round(loadSeconds)} s)`);
    await supervisor.down();

    const report: Record<string, unknown> = {
      rate,
      seconds,
      routers,
      result: { accepted_per_s: result.accepted_per_s, delivered_per_s: result.delivered_per_s, e2e_ms: result.e2e_ms, lost: result.lost, accepted: result.accepted },
      cpu_ms_per_message: msPerMessage(totalPercent),
      processes: {},
    };
    const lines: string[] = [];
    // Only each process's main thread (thread id 0); tsx's loader thread idles.
    for (const file of readdirSync(outDir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')) {
      const pid = Number(file.split('.')[3]);
      const name = names.get(pid) ?? `pid ${pid}`;
      const summary = summarizeProfile(JSON.parse(readFileSync(join(outDir, file), 'utf8')) as CpuProfile);
      (report.processes as Record<string, unknown>)[name] = { file, cpu_percent_during_load: cpuPercent[name] ?? null, cpu_ms_per_message: msPerMessage(cpuPercent[name]), histogram_means: timings[name] ?? {}, ...summary };
      lines.push(
        '',
        `== ${name} (pid ${pid}) — ${cpuPercent[name] ?? '?'} % of one core during the load, ${msPerMessage(cpuPercent[name]) ?? '?'} ms per accepted message; profile ${file}`,
        `   mean times: ${Object.entries(timings[name] ?? {}).map(([k, v]) => `${k} ${v.mean_ms} ms ×${v.count}`).join(', ') || 'none'}`,
        `   areas: ${summary.areas.slice(0, 8).map((a) => `${a.area} ${a.percent}%`).join(', ')}`,
        ...summary.top.map((t) => `   ${String(t.percent).padStart(5)}%  ${t.fn}`),
      );
    }
    writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(report, null, 2)}\n`);
    rmSync(dataDir, { recursive: true, force: true });
    process.stdout.write(`${lines.join('\n')}\n\nprofiles and summary.json: ${outDir} (open a .cpuprofile in Chrome DevTools → Performance)\n`);
    return 0;
  } catch (err) {
    // Keep the logs the error points to.
    await supervisor.down().catch(() => undefined);
    throw err;
  } finally {
    await supervisor.down().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`profile failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

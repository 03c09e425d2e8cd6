/**
 * `make bench`: starts the local multi-process platform and measures, in one run on one machine,
 *  1. the limit of a bare `node:http` server answering POST with a small JSON body,
 *  2. the dev broker's raw kafkajs produce→consume rate,
 *  3. Chat4All's maximum sustained accepted/s and delivered/s, and its accept→delivered latency at
 *     fixed offered rates,
 * all driven by the load generator of `loadtest/`. Prints a table with the ratios and writes
 * bench/results/latest.json. `--smoke` does the same in about 30 s with small numbers.
 *
 * Usage: npx tsx bench/bench.ts [--smoke] [--out FILE]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Supervisor } from '../services/platform/supervisor.ts';
import { prepareConversations, runOpenLoad, type LoadResult, type LoadTarget, type PreparedConversations } from '../loadtest/generator.ts';
import { progressLine, progressPrinter } from '../loadtest/report.ts';
import { gitCommit, machineInfo } from '../loadtest/environment.ts';
import { HttpClient } from '../loadtest/http-client.ts';
import { measureBusLimit, type BusLimit } from './bus-limit.ts';
import { CpuSampler } from './cpu-sampler.ts';
import { fetchMetrics, maxOf, parsePromText } from '../services/core/prom-text.ts';

interface Settings {
  smoke: boolean;
  conversations: number;
  routers: number;
  partitions: number;
  /** Same sockets and in-flight cap for the bare server and for Chat4All. */
  connections: number;
  maxInFlight: number;
  httpLimitMs: number;
  busMessages: number;
  warmupMs: number;
  /** Rates tried in order until one is not sustained; then bisection between it and the last sustained one. */
  stepRates: number[];
  /** At most this many bisection steps (each `stepMs`). */
  bisectSteps: number;
  stepMs: number;
  fixedRates: number[];
  fixedMs: number;
  deadlineMs: number;
  /** A step whose e2e p99 exceeds this is not sustained. */
  e2eP99BoundMs: number;
}

const FULL: Settings = {
  smoke: false,
  conversations: 200,
  routers: 2,
  partitions: 12,
  connections: 64,
  maxInFlight: 2000,
  httpLimitMs: 5000,
  busMessages: 100_000,
  warmupMs: 5000,
  stepRates: [25, 50, 100, 200, 400, 800, 1600, 3200, 6400],
  bisectSteps: 3,
  stepMs: 10_000,
  fixedRates: [500, 2000],
  fixedMs: 10_000,
  // An overloaded run drains before "lost" is counted: lost means never delivered, not late.
  deadlineMs: 120_000,
  e2eP99BoundMs: 2000,
};

const SMOKE: Settings = {
  ...FULL,
  smoke: true,
  conversations: 10,
  httpLimitMs: 1500,
  busMessages: 10_000,
  warmupMs: 1000,
  stepRates: [20, 40],
  bisectSteps: 1,
  stepMs: 2000,
  fixedRates: [20],
  fixedMs: 2000,
  deadlineMs: 5000,
};

/** One Chat4All run at a fixed offered rate. */
interface RateRun {
  offered_rate: number;
  accepted_per_s: number;
  delivered_per_s: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  http_p99_ms: number;
  lost: number;
  duplicates: number;
  out_of_order: number;
  failed: number;
  dropped_by_client: number;
  sustained: boolean;
  /** Why not sustained, when it is not. */
  reason: string | null;
  /** % of one core per process during the run. */
  cpu_percent: Record<string, number | null>;
  /** p99 event-loop delay per Node process during the run (prom-client's, reset by each scrape), ms. */
  eventloop_p99_ms: Record<string, number | null>;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a, i) => !['--smoke', '--out'].includes(a) && argv[i - 1] !== '--out');
  if (unknown.length > 0) {
    log(`bench: unknown argument ${unknown[0]}\nusage: npx tsx bench/bench.ts [--smoke] [--out FILE]`);
    return 2;
  }
  const s = argv.includes('--smoke') ? SMOKE : FULL;
  const outIdx = argv.indexOf('--out');
  const outFile = outIdx >= 0 && argv[outIdx + 1] ? argv[outIdx + 1]! : join('bench', 'results', 'latest.json');
  const started = Date.now();
  const machine = machineInfo();
  log(`bench${s.smoke ? ' (smoke)' : ''}: ${machine.cores} cores, ${machine.memory_gb} GB, ${machine.cpu_model}, node ${machine.node}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-bench-'));
  const supervisor = new Supervisor({
    dataDir,
    routers: s.routers,
    partitions: s.partitions,
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
    // Cheap password hashing only speeds up the set-up; the message path does not hash.
    // The simulator has no rate limit: the per-number pacing towards WhatsApp (80/s by default,
    // the provider's own limit) is off here, or the bench would measure that limit, not the platform.
    // The API's rate limits are off too: 4 senders share up to 6400 msg/s here, far over the
    // per-user default (500/s), and the bench measures throughput, not the limits.
    env: { SCRYPT_COST: '1024', WHATSAPP_RATE_PER_SENDER: '0', RATE_LIMIT_ENABLED: 'false' },
  });
  const bare = await startBareServer();
  const stopSignals = () => void cleanup().then(() => process.exit(130));
  const cleanup = async () => {
    process.off('SIGINT', stopSignals);
    process.off('SIGTERM', stopSignals);
    bare.stop();
    await supervisor.down().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('SIGINT', stopSignals);
  process.on('SIGTERM', stopSignals);
  try {
    log('starting the local platform (dev broker, simulator, connectors, routers, API) …');
    await supervisor.start();
    const target: LoadTarget = { apiUrl: supervisor.apiUrl, simUrl: supervisor.simUrl };
    const pids = () => {
      const out: Record<string, number> = { generator: process.pid };
      for (const p of supervisor.ps()) if (p.pid) out[p.name] = p.pid;
      return out;
    };
    const progress = progressPrinter(process.stderr, 5000);
    const cpu = new CpuSampler();

    // 1. The limit: the same generator, sockets and in-flight cap against a server doing nothing.
    log(`1/3 bare node:http limit (${s.httpLimitMs / 1000} s, ${s.connections} connections) …`);
    const fake: PreparedConversations = {
      conversations: Array.from({ length: s.conversations }, (_, i) => ({ conversationId: `bench-${i}`, token: 'none', to: '+5500000000000', channel: 'whatsapp' as const })),
    };
    cpu.start({ generator: process.pid, 'bare-http': bare.pid });
    const httpRun = await runOpenLoad({
      target: { apiUrl: bare.url, simUrl: bare.url },
      prepared: fake,
      rate: 100_000,
      durationMs: s.httpLimitMs,
      connections: s.connections,
      // One request per socket: the best case for the bare server (a queue in the client only adds cost).
      maxInFlight: s.connections,
      trackDelivery: false,
      onProgress: (p) => progress.update(progressLine('bare http', p, s.httpLimitMs)),
    });
    const httpCpu = cpu.stop();
    progress.done();
    bare.stop();

    // 2. The bus: kafkajs against a dev broker of its own.
    log(`2/3 dev broker raw kafkajs produce→consume (${s.busMessages} records) …`);
    const bus = await measureBusLimit({ messages: s.busMessages, partitions: s.partitions, batch: 1000 });
    const busSmall = await measureBusLimit({ messages: Math.round(s.busMessages / 10), partitions: s.partitions, batch: 10 });

    // 3. Chat4All.
    log(`3/3 Chat4All: preparing ${s.conversations} conversations …`);
    const prepared = await prepareConversations(target, s.conversations);
    const runAt = async (rate: number, ms: number, label: string): Promise<{ run: RateRun; result: LoadResult }> => {
      await settle(target.simUrl);
      await eventLoopP99(supervisor); // resets every process's event-loop histogram
      cpu.start(pids());
      const result = await runOpenLoad({
        target,
        prepared,
        rate,
        durationMs: ms,
        connections: s.connections,
        maxInFlight: s.maxInFlight,
        deliveryDeadlineMs: s.deadlineMs,
        onProgress: (p) => progress.update(progressLine(label, p, ms)),
      });
      const cpuPercent = cpu.stop();
      const loops = await eventLoopP99(supervisor);
      progress.done();
      const run = { ...summarize(rate, result, s, cpuPercent), eventloop_p99_ms: loops };
      log(
        `  ${label}: accepted ${run.accepted_per_s}/s, delivered ${run.delivered_per_s}/s, e2e p50 ${run.e2e_p50_ms} ms p99 ${run.e2e_p99_ms} ms, ` +
          `http p99 ${run.http_p99_ms} ms, lost ${run.lost}${run.sustained ? '' : `  — not sustained: ${run.reason}`}`,
      );
      return { run, result };
    };
    await runAt(s.stepRates[0]!, s.warmupMs, 'warm-up');

    const steps: RateRun[] = [];
    let lastGood: RateRun | null = null;
    for (const rate of s.stepRates) {
      const { run } = await runAt(rate, s.stepMs, `step ${rate}/s`);
      steps.push(run);
      if (!run.sustained) {
        // Bisect between the last sustained rate and this one, while the gap is over 10 %.
        let bad = rate;
        for (let i = 0; i < s.bisectSteps && lastGood && bad - lastGood.offered_rate > 0.1 * lastGood.offered_rate; i++) {
          const mid = Math.round((lastGood.offered_rate + bad) / 2);
          const { run: midRun } = await runAt(mid, s.stepMs, `step ${mid}/s`);
          steps.push(midRun);
          if (midRun.sustained) lastGood = midRun;
          else bad = mid;
        }
        break;
      }
      lastGood = run;
    }
    const fixed: RateRun[] = [];
    for (const rate of s.fixedRates) fixed.push((await runAt(rate, s.fixedMs, `fixed ${rate}/s`)).run);

    const all = [...steps, ...fixed];
    const best = lastGood ?? [...steps].sort((a, b) => b.delivered_per_s - a.delivered_per_s)[0]!;
    const result = {
      smoke: s.smoke,
      git_commit: gitCommit(),
      machine,
      started_at: new Date(started).toISOString(),
      duration_s: 0,
      // The highest offered rate Chat4All sustained (delivered within 10 % of offered, nothing lost, e2e p99 bounded).
      offered_rate: best.offered_rate,
      sustained: best.sustained,
      accepted_per_s: best.accepted_per_s,
      delivered_per_s: best.delivered_per_s,
      e2e_p50_ms: best.e2e_p50_ms,
      e2e_p99_ms: best.e2e_p99_ms,
      http_limit_per_s: httpRun.accepted_per_s,
      bus_limit_per_s: bus.produce_consume_per_s,
      ratios: {
        accepted_vs_bare_http: ratio(best.accepted_per_s, httpRun.accepted_per_s),
        delivered_vs_raw_bus: ratio(best.delivered_per_s, bus.produce_consume_per_s),
      },
      // Over every run, overloaded ones included: accepted and not delivered within the deadline after the last send.
      lost: sum(all, 'lost'),
      lost_at_sustained_rates: sum(all.filter((x) => x.sustained), 'lost'),
      duplicates: sum(all, 'duplicates'),
      out_of_order: sum(all, 'out_of_order'),
      http_limit: {
        accepted_per_s: httpRun.accepted_per_s,
        http_p50_ms: httpRun.http_ms.p50,
        http_p99_ms: httpRun.http_ms.p99,
        connections: s.connections,
        max_in_flight: s.connections,
        cpu_percent: httpCpu,
      },
      bus_limit: { batch_1000: bus, batch_10: busSmall } satisfies Record<string, BusLimit>,
      steps,
      fixed_rates: fixed,
      settings: { ...s },
      platform: { routers: s.routers, partitions: s.partitions, processes: supervisor.ps().map((p) => p.name) },
    };
    result.duration_s = Math.round((Date.now() - started) / 1000);
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${table(result, fixed)}\nwritten: ${outFile} (${result.duration_s} s)\n`);
    return 0;
  } finally {
    await cleanup();
  }
}

/** Scrapes `nodejs_eventloop_lag_p99_seconds` from every service process, in ms (null when it does not answer). */
async function eventLoopP99(supervisor: Supervisor): Promise<Record<string, number | null>> {
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

function summarize(rate: number, r: LoadResult, s: Settings, cpuPercent: Record<string, number | null>): Omit<RateRun, 'eventloop_p99_ms'> {
  const reasons: string[] = [];
  if (r.lost > 0) reasons.push(`${r.lost} not delivered within ${s.deadlineMs / 1000} s`);
  if (r.failed + r.dropped_by_client > 0.01 * r.offered) reasons.push(`${r.failed} failed, ${r.dropped_by_client} dropped by the client`);
  if (r.delivered_per_s < 0.9 * rate) reasons.push(`delivered ${r.delivered_per_s}/s < 90 % of ${rate}/s`);
  if (r.e2e_ms.p99 > s.e2eP99BoundMs) reasons.push(`e2e p99 ${r.e2e_ms.p99} ms > ${s.e2eP99BoundMs} ms`);
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
    sustained: reasons.length === 0,
    reason: reasons.length ? reasons.join('; ') : null,
    cpu_percent: cpuPercent,
  };
}

/** Waits until the simulator has received nothing new for a second (the previous run drained), at most 60 s. */
async function settle(simUrl: string) {
  const sim = new HttpClient(simUrl, { connections: 1, timeoutMs: 5000 });
  try {
    let last = -1;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const { last_index } = await sim.json<{ last_index: number }>('GET', `/_sim/received?after=${Number.MAX_SAFE_INTEGER}`);
      if (last_index === last) return;
      last = last_index;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    sim.close();
  }
}

interface BareServer {
  url: string;
  pid: number;
  stop(): void;
}

/** Starts bench/bare-http-server.ts as its own process; `stop` ends it by its PID. */
async function startBareServer(): Promise<BareServer> {
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

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
const sum = (runs: RateRun[], k: 'lost' | 'duplicates' | 'out_of_order') => runs.reduce((n, r) => n + r[k], 0);
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
/** `name N%` per process, % of one core. */
const cpuOf = (c: Record<string, number | null>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v ?? '?'}%`)
    .join(', ');
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

function table(
  r: {
    machine: { cores: number; memory_gb: number };
    git_commit: string | null;
    http_limit_per_s: number;
    bus_limit_per_s: number;
    bus_limit: { batch_1000: BusLimit; batch_10: BusLimit };
    http_limit: { cpu_percent: Record<string, number | null> };
    offered_rate: number;
    sustained: boolean;
    accepted_per_s: number;
    delivered_per_s: number;
    e2e_p50_ms: number;
    e2e_p99_ms: number;
    ratios: { accepted_vs_bare_http: number | null; delivered_vs_raw_bus: number | null };
    lost: number;
    duplicates: number;
    out_of_order: number;
    steps: RateRun[];
  },
  fixed: RateRun[],
): string {
  const rows: [string, string, string][] = [
    ['bare node:http POST (the limit)', `${n0(r.http_limit_per_s)}/s`, `CPU: ${cpuOf(r.http_limit.cpu_percent)}`],
    ['dev broker, kafkajs produce→consume (1000-record batches)', `${n0(r.bus_limit_per_s)}/s`, `CPU: ${cpuOf(r.bus_limit.batch_1000.cpu_percent)}`],
    ['  same, 10-record batches', `${n0(r.bus_limit.batch_10.produce_consume_per_s)}/s`, `CPU: ${cpuOf(r.bus_limit.batch_10.cpu_percent)}`],
    [`Chat4All accepted/s (max sustained, offered ${n0(r.offered_rate)}/s${r.sustained ? '' : ', NOT sustained'})`, `${n0(r.accepted_per_s)}/s`, `${pct(r.ratios.accepted_vs_bare_http)} of bare HTTP`],
    ['Chat4All delivered/s (same step)', `${n0(r.delivered_per_s)}/s`, `${pct(r.ratios.delivered_vs_raw_bus)} of raw bus`],
    ['e2e accept→delivered p50 / p99 (same step)', `${r.e2e_p50_ms} / ${r.e2e_p99_ms} ms`, ''],
    ...fixed.map((f): [string, string, string] => [
      `e2e p50 / p99 at ${n0(f.offered_rate)}/s offered`,
      `${f.e2e_p50_ms} / ${f.e2e_p99_ms} ms`,
      f.sustained ? `delivered ${n0(f.delivered_per_s)}/s` : `not sustained: ${f.reason}`,
    ]),
    ['lost / duplicates / out of order (all runs)', `${r.lost} / ${r.duplicates} / ${r.out_of_order}`, ''],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const lines = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  const steps = r.steps.map((st) => `${st.offered_rate}/s→${n0(st.delivered_per_s)}${st.sustained ? '' : '✗'}`).join('  ');
  const cpuAt = r.steps.find((st) => st.offered_rate === r.offered_rate)?.cpu_percent ?? {};
  const cpu = cpuOf(cpuAt);
  const totalCpu = Object.values(cpuAt).reduce((a: number, v) => a + (v ?? 0), 0);
  // CPU time per delivered message: % of one core ÷ messages per second = 10 ms × % / rate.
  const perMessage = (names: string[]) =>
    r.delivered_per_s > 0 ? ((names.reduce((a, n) => a + (cpuAt[n] ?? 0), 0) * 10) / r.delivered_per_s).toFixed(1) : '?';
  const platformProcs = Object.keys(cpuAt).filter((n) => n !== 'generator' && n !== 'provider-sim');
  const loopsAt = r.steps.find((st) => st.offered_rate === r.offered_rate)?.eventloop_p99_ms ?? {};
  const loops = Object.entries(loopsAt)
    .map(([k, v]) => `${k} ${v ?? '?'} ms`)
    .join(', ');
  return [
    '',
    `Chat4All benchmark — ${r.machine.cores} cores, ${r.machine.memory_gb} GB, commit ${r.git_commit ?? 'unknown'}`,
    ...lines,
    `steps (offered→delivered/s): ${steps}`,
    `CPU at the max sustained step (% of one core): ${cpu} — ${totalCpu}% of the machine's ${r.machine.cores * 100}%`,
    `event-loop delay p99 at that step: ${loops}`,
    `CPU per delivered message at that step: ${perMessage(platformProcs)} ms in the platform (${platformProcs.join(', ')}), ${perMessage(Object.keys(cpuAt))} ms with the simulator and the generator`,
  ].join('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * `make bench`: starts the local multi-process platform and measures, in one run on one machine,
 *  1. the limit of a bare `node:http` server answering POST with a small JSON body,
 *  2. the dev broker's raw kafkajs produce→consume rate at 1000-, 10- and 1-record batches,
 *  3. Chat4All with two routers: 10 s steps of offered rate up to the knee,
 *  4. the max sustained step rate held for 60 s three times, consumer lag sampled (flat or not),
 *  5. the API at saturation, against the bare server,
 *  6. the same steps with one router,
 * all driven by the load generator of `loadtest/`; a message counts as delivered only once its
 * DELIVERED status is in the store. Prints a table, writes bench/results/latest.json and an HTML
 * report with the charts beside it. `--smoke` does a small version of it in about a minute.
 *
 * Usage: npx tsx bench/bench.ts [--smoke] [--out FILE] [--partitions N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Supervisor } from '../services/platform/supervisor.ts';
import { prepareConversations, runOpenLoad, type LoadTarget, type PreparedConversations } from '../loadtest/generator.ts';
import { progressLine, progressPrinter } from '../loadtest/report.ts';
import { gitCommit, machineInfo } from '../loadtest/environment.ts';
import { measureBusLimit, type BusLimit } from './bus-limit.ts';
import { benchHtml } from './html-report.ts';
import { LagSampler } from './lag-sampler.ts';
import { sqliteDeliveredSource } from './store-deliveries.ts';
import { CpuSampler } from './cpu-sampler.ts';
import { FULL, GOAL, SMOKE, type RateRun } from './bench-settings.ts';
import { cpuPerMessage, eventLoopP99, platformBatchSizes, settle, startBareServer, summarize } from './bench-probes.ts';
import { ratio, sum, table } from './bench-table.ts';


const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a, i) => !['--smoke', '--out', '--partitions'].includes(a) && argv[i - 1] !== '--out' && argv[i - 1] !== '--partitions');
  if (unknown.length > 0) {
    log(`bench: unknown argument ${unknown[0]}\nusage: npx tsx bench/bench.ts [--smoke] [--out FILE] [--partitions N]`);
    return 2;
  }
  const partsIdx = argv.indexOf('--partitions');
  const parts = partsIdx >= 0 ? Number(argv[partsIdx + 1]) : undefined;
  if (parts !== undefined && !(Number.isInteger(parts) && parts >= 2 && parts <= 64)) {
    log(`bench: --partitions needs a whole number from 2 to 64 (the topics' partitions; two routers need two), got ${argv[partsIdx + 1] ?? 'nothing'}`);
    return 2;
  }
  const base = argv.includes('--smoke') ? SMOKE : FULL;
  // Another partition count than the local platform's, to compare (the dev broker's costs grow with it).
  const s = parts === undefined ? base : { ...base, partitions: parts };
  const outIdx = argv.indexOf('--out');
  const outFile = outIdx >= 0 && argv[outIdx + 1] ? argv[outIdx + 1]! : join('bench', 'results', 'latest.json');
  const htmlFile = outFile.replace(/\.json$/, '') + '.html';
  const started = Date.now();
  const clock = () => {
    const t = Math.round((Date.now() - started) / 1000);
    return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
  };
  const phase = (n: number, what: string) => log(`[${clock()}] ${n}/6 ${what}`);
  const machine = machineInfo();
  log(`bench${s.smoke ? ' (smoke)' : ''}: ${machine.cores} cores, ${machine.memory_gb} GB, ${machine.cpu_model}, node ${machine.node}; about ${s.smoke ? '1' : '12–15'} min`);

  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-bench-'));
  const supervisor = new Supervisor({
    dataDir,
    routers: s.routers,
    partitions: s.partitions,
    // Nine Node processes transpile and start at once: on a busy machine that alone can pass 30 s.
    startTimeoutMs: 90_000,
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
    log(`[${clock()}] starting the local platform (dev broker, simulator, connectors, ${s.routers} routers, API) …`);
    await supervisor.start();
    const target: LoadTarget = { apiUrl: supervisor.apiUrl, simUrl: supervisor.simUrl };
    // A message counts once its DELIVERED is in the store, not when the simulator got the call.
    const deliveredIn = sqliteDeliveredSource(join(dataDir, 'chat4all.db'));
    const pids = () => {
      const out: Record<string, number> = { generator: process.pid };
      for (const p of supervisor.ps()) if (p.pid && p.state === 'running') out[p.name] = p.pid;
      return out;
    };
    const metricUrls = () => supervisor.ps().filter((p) => p.url && p.state === 'running').map((p) => p.url!);
    const progress = progressPrinter(process.stderr, 5000);
    const cpu = new CpuSampler();

    // 1. The limit: the same generator, sockets and in-flight cap against a server doing nothing.
    phase(1, `bare node:http limit (${s.httpLimitMs / 1000} s, ${s.connections} connections) …`);
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

    // 2. The bus: kafkajs against a dev broker of its own, at the batch sizes KafkaBus can make.
    phase(2, `dev broker raw kafkajs produce→consume (${s.busMessages} records in 1000-record batches, then 10 and 1) …`);
    // A measurement that does not finish (a starved machine) is reported as missing, not fatal.
    const busAt = (messages: number, batch: number) =>
      measureBusLimit({ messages, partitions: s.partitions, batch }).catch((err: unknown): BusLimit => {
        log(`  raw bus with ${batch}-record batches failed: ${(err as Error).message}`);
        return { messages, partitions: s.partitions, value_bytes: 0, produce_per_s: 0, produce_consume_per_s: 0, cpu_percent: { kafkajs: null, broker: null } };
      });
    const bus = await busAt(s.busMessages, 1000);
    const busSmall = await busAt(Math.round(s.busMessages / 10), 10);
    const busOne = await busAt(Math.round(s.busMessages / 50), 1);

    // 3. Chat4All, two routers: 10 s steps up to the knee.
    phase(3, `Chat4All, ${s.routers} routers: preparing ${s.conversations} conversations, then ${s.stepMs / 1000} s steps up to the knee …`);
    const prepared = await prepareConversations(target, s.conversations);
    const runAt = async (rate: number, ms: number, label: string, o: { lag?: boolean; track?: boolean } = {}): Promise<RateRun> => {
      await settle(target.simUrl, o.track === false ? 10_000 : 60_000);
      await eventLoopP99(supervisor); // resets every process's event-loop histogram
      const lag = o.lag ? new LagSampler(metricUrls) : null;
      lag?.start();
      cpu.start(pids());
      const result = await runOpenLoad({
        target,
        prepared,
        rate,
        durationMs: ms,
        connections: s.connections,
        maxInFlight: o.track === false ? s.connections : s.maxInFlight,
        deliveryDeadlineMs: s.deadlineMs,
        trackDelivery: o.track ?? true,
        deliveredIn,
        onProgress: (p) => progress.update(progressLine(label, p, ms)),
      });
      const cpuPercent = cpu.stop();
      const lagVerdict = lag ? await lag.stop(rate) : undefined;
      const loops = await eventLoopP99(supervisor);
      progress.done();
      const run: RateRun = { ...summarize(rate, result, s, cpuPercent, lagVerdict), eventloop_p99_ms: loops };
      log(
        `  ${label}: accepted ${run.accepted_per_s}/s, ${o.track === false ? 'deliveries not followed' : `delivered (stored) ${run.delivered_per_s}/s`}, e2e p50 ${run.e2e_p50_ms} ms p99 ${run.e2e_p99_ms} ms, ` +
          `http p99 ${run.http_p99_ms} ms, lost ${run.lost}${lagVerdict ? `, lag slope ${lagVerdict.slope_per_s}/s max ${lagVerdict.max_lag}` : ''}${run.sustained ? '' : `  — not sustained: ${run.reason}`}`,
      );
      return run;
    };
    /** Steps up until a rate is not sustained, then bisects; the last sustained step, or null. */
    const search = async (routers: number, steps: RateRun[]): Promise<RateRun | null> => {
      let lastGood: RateRun | null = null;
      for (const rate of s.stepRates) {
        const run = await runAt(rate, s.stepMs, `${routers}r step ${rate}/s`);
        steps.push(run);
        if (!run.sustained) {
          // Bisect between the last sustained rate and this one, while the gap is over 10 %.
          let bad = rate;
          for (let i = 0; i < s.bisectSteps && lastGood && bad - lastGood.offered_rate > 0.1 * lastGood.offered_rate; i++) {
            const mid = Math.round((lastGood.offered_rate + bad) / 2);
            const midRun = await runAt(mid, s.stepMs, `${routers}r step ${mid}/s`);
            steps.push(midRun);
            if (midRun.sustained) lastGood = midRun;
            else bad = mid;
          }
          break;
        }
        lastGood = run;
      }
      return lastGood;
    };
    await runAt(s.stepRates[0]!, s.warmupMs, 'warm-up');
    const steps: RateRun[] = [];
    const lastGood = await search(s.routers, steps);

    // 4. The long runs: the max sustained step rate for sustainMs, sustainRepeats times, lag flat.
    let sustainRate = lastGood?.offered_rate ?? s.stepRates[0]!;
    phase(4, `${s.sustainRepeats} × ${s.sustainMs / 1000} s at ${sustainRate}/s with the consumer lag sampled …`);
    let sustainedRuns: RateRun[] = [];
    // The 10 s step was sustained but a minute may not be: then 20 % lower, once (full runs only).
    const attempts = s.sustainRepeats > 1 ? 2 : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      sustainedRuns = [];
      for (let i = 1; i <= s.sustainRepeats; i++) {
        const run = await runAt(sustainRate, s.sustainMs, `sustain ${i}/${s.sustainRepeats} ${sustainRate}/s`, { lag: true });
        sustainedRuns.push(run);
        if (!run.sustained && i === 1 && attempt < attempts) break;
      }
      if (sustainedRuns.every((r) => r.sustained) || attempt === attempts) break;
      sustainRate = Math.round(sustainRate * 0.8);
      log(`  the first ${s.sustainMs / 1000} s run was not sustained: trying ${sustainRate}/s`);
    }
    const fixed: RateRun[] = [];
    for (const rate of s.fixedRates) fixed.push(await runAt(rate, s.fixedMs, `fixed ${rate}/s`));

    // 5. The API at saturation: offered twice as fast as the bare server answered, same sockets and
    // one request per socket (arrivals beyond are dropped by the client), so the API is the limit.
    const saturationRate = Math.max(1000, 2 * Math.round(httpRun.accepted_per_s));
    phase(5, `the API at saturation (${saturationRate}/s offered for ${s.saturationMs / 1000} s, deliveries not followed) …`);
    const saturation = await runAt(saturationRate, s.saturationMs, `saturation ${saturationRate}/s`, { track: false });

    // 6. One router: the same search after scaling the routers down (the knee should move left).
    const oneRouterSteps: RateRun[] = [];
    let oneRouterBest: RateRun | null = null;
    if (s.oneRouter && s.routers > 1) {
      phase(6, 'one router: draining, scaling the routers to 1, the same steps …');
      await settle(target.simUrl, 120_000);
      await supervisor.scale('router', 1);
      // The group rebalances onto the one router (the leaver's LeaveGroup, ~6 s on the dev broker):
      // a warm-up absorbs it, as at the start, so the first measured step is not the rebalance.
      await runAt(s.stepRates[0]!, Math.max(s.warmupMs, 15_000), 'warm-up, one router');
      oneRouterBest = await search(1, oneRouterSteps);
    } else phase(6, 'one router vs two: skipped in the smoke run');

    const median = (runs: RateRun[], k: 'delivered_per_s' | 'accepted_per_s' | 'e2e_p50_ms' | 'e2e_p99_ms') => {
      const v = runs.map((r) => r[k]).sort((a, b) => a - b);
      return { min: v[0] ?? 0, median: v[Math.floor(v.length / 2)] ?? 0, max: v[v.length - 1] ?? 0 };
    };
    const longOk = sustainedRuns.length === s.sustainRepeats && sustainedRuns.every((r) => r.sustained);
    const mid = [...sustainedRuns].sort((a, b) => a.delivered_per_s - b.delivered_per_s)[Math.floor(sustainedRuns.length / 2)];
    const best = mid ?? lastGood ?? [...steps].sort((a, b) => b.delivered_per_s - a.delivered_per_s)[0]!;
    const all = [...steps, ...sustainedRuns, ...fixed, ...oneRouterSteps];
    const busBatch = await platformBatchSizes(metricUrls);
    const result = {
      smoke: s.smoke,
      git_commit: gitCommit(),
      machine,
      started_at: new Date(started).toISOString(),
      duration_s: 0,
      // The rate of the long runs (the median one): delivered within 10 % of offered, nothing lost, e2e p99 bounded, lag flat.
      offered_rate: best.offered_rate,
      sustained: longOk,
      accepted_per_s: best.accepted_per_s,
      delivered_per_s: best.delivered_per_s,
      e2e_p50_ms: best.e2e_p50_ms,
      e2e_p99_ms: best.e2e_p99_ms,
      goal: { ...GOAL, met: longOk && best.offered_rate >= GOAL.rate && Math.max(...sustainedRuns.map((r) => r.e2e_p99_ms)) <= GOAL.e2e_p99_ms },
      sustained_runs: {
        offered_rate: sustainRate,
        runs: sustainedRuns.length,
        seconds_each: s.sustainMs / 1000,
        all_sustained: longOk,
        delivered_per_s: median(sustainedRuns, 'delivered_per_s'),
        accepted_per_s: median(sustainedRuns, 'accepted_per_s'),
        e2e_p50_ms: median(sustainedRuns, 'e2e_p50_ms'),
        e2e_p99_ms: median(sustainedRuns, 'e2e_p99_ms'),
        lag_slope_per_s: sustainedRuns.map((r) => r.lag?.slope_per_s ?? null),
      },
      // CPU ms per delivered message at the median long run, per process and grouped.
      cpu_ms_per_message: cpuPerMessage(best),
      http_limit_per_s: httpRun.accepted_per_s,
      bus_limit_per_s: bus.produce_consume_per_s,
      api_saturation: { offered_rate: saturationRate, accepted_per_s: saturation.accepted_per_s, http_p99_ms: saturation.http_p99_ms, cpu_percent: saturation.cpu_percent },
      ratios: {
        api_saturation_vs_bare_http: ratio(saturation.accepted_per_s, httpRun.accepted_per_s),
        accepted_vs_bare_http: ratio(best.accepted_per_s, httpRun.accepted_per_s),
        delivered_vs_raw_bus: ratio(best.delivered_per_s, bus.produce_consume_per_s),
        delivered_vs_raw_bus_batch_10: ratio(best.delivered_per_s, busSmall.produce_consume_per_s),
        delivered_vs_raw_bus_batch_1: ratio(best.delivered_per_s, busOne.produce_consume_per_s),
        one_router_vs_two: oneRouterBest && lastGood ? ratio(oneRouterBest.offered_rate, lastGood.offered_rate) : null,
      },
      routers: {
        two: { max_sustained_step_rate: lastGood?.offered_rate ?? null },
        one: s.oneRouter ? { max_sustained_step_rate: oneRouterBest?.offered_rate ?? null } : null,
      },
      // What the platform's processes report about their produce batches (metrics whose name says "batch"), summed.
      platform_batch_metrics: busBatch,
      // Over every Chat4All run, overloaded ones included (the saturation run does not follow deliveries).
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
      bus_limit: { batch_1000: bus, batch_10: busSmall, batch_1: busOne } satisfies Record<string, BusLimit>,
      steps,
      one_router_steps: oneRouterSteps,
      long_runs: sustainedRuns,
      fixed_rates: fixed,
      settings: { ...s },
      platform: { routers: s.routers, partitions: s.partitions, processes: supervisor.ps().map((p) => p.name) },
    };
    result.duration_s = Math.round((Date.now() - started) / 1000);
    mkdirSync(dirname(outFile), { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(outFile, json);
    const text = table(result);
    writeFileSync(
      htmlFile,
      benchHtml({
        title: `Chat4All benchmark — ${machine.cores} cores, commit ${result.git_commit ?? 'unknown'}${s.smoke ? ' (smoke)' : ''}`,
        summary: text.rows,
        steps,
        oneRouterSteps,
        cpuPerMessage: result.cpu_ms_per_message.per_process,
        lagRuns: sustainedRuns.map((r, i) => ({ label: `run ${i + 1} (${r.offered_rate}/s)`, samples: r.lag?.samples ?? [] })),
        json,
      }),
    );
    process.stdout.write(`${text.text}\nwritten: ${outFile}, ${htmlFile} (${result.duration_s} s)\n`);
    return 0;
  } finally {
    await cleanup();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

import { randomBytes } from 'node:crypto';
import { prepareConversations, runOpenLoad, type LoadProgress, type LoadResult } from '../loadtest/generator.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import type { Instance, PlatformDriver } from './driver.ts';
import type { Injection, Journal, MethodStep, ProbeResult, Verdict } from './journal.ts';
import { startSampler, type Sample } from './sampler.ts';
import { checkRules, evaluateProbes, recoverySeconds, recoveryTolerance, routedPerSecond, routedSeries, type TimedSample } from './analysis.ts';

/** Thrown before anything is touched when a kill would exceed the blast-radius limit. */
export class BlastRadiusError extends Error {
  override name = 'BlastRadiusError';
}

export interface Plan {
  /** The instances the fault acts on. */
  targets: string[];
  /** What will be done, in order, in words. */
  steps: string[];
  /** Seconds of load (warm-up + fault + observation). */
  load_seconds: number;
}

/** The channel whose provider and connector an experiment looks at. */
function channelOf(spec: ExperimentSpec): 'whatsapp' | 'instagram' {
  if (spec.fault.type === 'provider-outage') return spec.fault.channel;
  return spec.target.workload === 'connector-instagram' ? 'instagram' : 'whatsapp';
}

/**
 * The plan, from the definition and the instances the platform runs: who is hit, in what order.
 * Enforces the blast-radius limit (throws `BlastRadiusError`). Touches nothing.
 */
export function planExperiment(spec: ExperimentSpec, instances: Instance[]): Plan {
  const t = spec.timing;
  const of = instances.filter((i) => i.workload === spec.target.workload);
  const running = of.filter((i) => i.state === 'running' || i.state === 'starting');
  const replicas = spec.target.replicas ?? running.length;
  const steps: string[] = [];
  let targets: string[] = [];
  if (Object.keys(spec.target.env).length > 0) {
    steps.push(`restart every ${spec.target.workload} instance with ${Object.entries(spec.target.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (spec.target.replicas !== undefined) steps.push(`scale ${spec.target.workload} to ${spec.target.replicas} and wait until its instances own every partition`);
  steps.push(`prepare ${spec.load.conversations} conversations`);
  steps.push(`steady state before: ${spec.steady_state.length} probe(s) on a ${t.steady_window_s + 1} s probe load at ${spec.load.rate} msg/s (up to ${STEADY_ATTEMPTS} tries); inject nothing unless it holds`);
  steps.push(`start the load: ${spec.load.rate} msg/s for ${t.warmup_s + t.fault_duration_s + t.observe_s} s`);
  const f = spec.fault;
  switch (f.type) {
    case 'kill': {
      const allowed = Math.floor(replicas * spec.safety.max_kill_share + 1e-9);
      if (f.count > allowed) {
        throw new BlastRadiusError(
          `refusing to kill ${f.count} of ${replicas} ${spec.target.workload} instance(s) (${Math.round((100 * f.count) / replicas)}%): the blast-radius limit (safety.max_kill_share) is ${Math.round(spec.safety.max_kill_share * 100)}%, i.e. at most ${allowed}`,
        );
      }
      const pool = spec.target.replicas !== undefined ? of.slice(0, spec.target.replicas) : running;
      targets = pool.slice(0, f.count).map((i) => i.name);
      steps.push(`at ${t.warmup_s} s: SIG${f.signal} ${targets.join(', ')} (${f.count} of ${replicas}, limit ${Math.round(spec.safety.max_kill_share * 100)}%)`);
      steps.push(f.restart ? `at ${t.warmup_s + t.fault_duration_s} s: start ${targets.join(', ')} again` : `${targets.join(', ')} stay down until the rollback; watch the survivors take their partitions`);
      break;
    }
    case 'scale':
      targets = [spec.target.workload];
      steps.push(`at ${t.warmup_s} s: scale ${spec.target.workload} from ${replicas} to ${f.replicas} under load; measure routed/s before and after`);
      break;
    case 'provider-outage':
      targets = [`provider ${f.channel}`];
      steps.push(`at ${t.warmup_s} s: provider ${f.channel} ${f.mode === 'down' ? 'down (every call 503)' : `errors at ${f.error_rate * 100}%`} for ${t.fault_duration_s} s, then up`);
      break;
    case 'broker-outage':
      targets = instances.filter((i) => i.workload === 'broker').map((i) => i.name);
      steps.push(
        f.mode === 'down'
          ? `at ${t.warmup_s} s: brokers off the network (connections refused) for ${t.fault_duration_s} s, then back`
          : `at ${t.warmup_s} s: kill the dev broker (its data is lost), start it empty after ${t.fault_duration_s} s`,
      );
      break;
  }
  steps.push(`observe for ${t.observe_s} s after the fault; then wait up to ${spec.load.delivery_deadline_s} s for deliveries`);
  steps.push(`check the steady state over the last ${t.steady_window_s} s of the load; verify ${spec.verify.length} rules`);
  steps.push('roll back (always, also on Ctrl-C): original replicas and settings, provider faults cleared, brokers up');
  return { targets, steps, load_seconds: t.warmup_s + t.fault_duration_s + t.observe_s };
}

export interface EngineEvent {
  kind: 'step' | 'progress';
  message: string;
  progress?: LoadProgress;
}

export interface RunOptions {
  signal?: AbortSignal;
  onEvent?: (e: EngineEvent) => void;
  /** Bound on getting the target ready (partitions assigned) before the load. @default 45000 */
  readyTimeoutMs?: number;
}

class Interrupted extends Error {}

/** Tries of the steady-state hypothesis before the method. */
const STEADY_ATTEMPTS = 3;

/**
 * Runs one experiment: prepare → steady state before → load → inject → observe → stop the fault
 * → steady state after → verify → roll back (always). Returns the journal; writing the evidence
 * is the caller's (see `evidence.ts`).
 */
export async function runExperiment(spec: ExperimentSpec, driver: PlatformDriver, options: RunOptions = {}): Promise<Journal> {
  const emit = options.onEvent ?? (() => {});
  const originalInstances = await driver.listInstances();
  const plan = planExperiment(spec, originalInstances);
  const channel = channelOf(spec);
  const t = spec.timing;
  const startedAt = Date.now();
  let loadStart = 0; // epoch ms; 0 until the load starts
  const ts = (at: number) => Math.round(((at - (loadStart || startedAt)) / 1000) * 100) / 100;
  const method: MethodStep[] = [];
  const step = (s: string, detail?: string) => {
    const at = Date.now();
    method.push({ at: new Date(at).toISOString(), t_s: ts(at), step: s, ...(detail ? { detail } : {}) });
    emit({ kind: 'step', message: detail ? `${s}: ${detail}` : s });
  };
  const notes: string[] = [];
  const run = new AbortController();
  const onAbort = () => run.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) run.abort();
  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (run.signal.aborted) return reject(new Interrupted('interrupted'));
      const timer = setTimeout(() => {
        run.signal.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = () => {
        clearTimeout(timer);
        reject(new Interrupted('interrupted'));
      };
      run.signal.addEventListener('abort', stop, { once: true });
    });
  const checkAborted = () => {
    if (run.signal.aborted) throw new Interrupted('interrupted');
  };

  let progress: LoadProgress | null = null;
  let sampler: ReturnType<typeof startSampler> | null = null;
  let result: LoadResult | null = null;
  let injection: Injection | null = null;
  let liveBefore: ProbeResult[] = [];
  let error: string | null = null;
  let skippedFault = false;
  const watchers: Promise<unknown>[] = [];
  const fault = spec.fault;
  const targetEnv = spec.target.env;
  const hasEnv = Object.keys(targetEnv).length > 0;
  let faultAt = 0;
  let faultStoppedAt = 0;

  try {
    // Prepare: the target's settings and replicas, then wait until it serves.
    if (hasEnv) {
      for (const i of originalInstances.filter((x) => x.workload === spec.target.workload && x.state === 'running')) {
        await driver.kill(i.name, 'TERM');
        await driver.start(i.name, { env: targetEnv });
      }
      step('prepare', `${spec.target.workload} restarted with ${Object.keys(targetEnv).join(', ')}`);
    }
    checkAborted();
    if (spec.target.replicas !== undefined && spec.target.workload === 'router') {
      await driver.scale('router', spec.target.replicas, { env: targetEnv });
      step('prepare', `router scaled to ${spec.target.replicas}`);
    }
    {
      // Whatever the target, a run starts from a settled consumer group (no rebalance under the probes).
      const ok = await driver.waitFor(async () => routersOwnEverything(driver), options.readyTimeoutMs ?? 45_000, 250);
      if (!ok) throw new Error('the routers did not come to own every partition before the load');
      step('ready', 'every partition of the accepted topic has a router');
    }
    checkAborted();
    let prepared: Awaited<ReturnType<typeof prepareConversations>> | null = null;
    for (let attempt = 1; !prepared; attempt++) {
      try {
        prepared = await prepareConversations(driver.target, spec.load.conversations);
      } catch (err) {
        // Set-up is not the experiment: a refused registration is retried, and noted.
        if (attempt >= 3) throw err;
        notes.push(`preparing conversations failed once and was retried: ${(err as Error).message}`);
        await sleep(1000);
      }
    }
    step('prepare', `${spec.load.conversations} conversations ready`);
    checkAborted();
    // The steady-state hypothesis, checked before the method on a short probe load at the
    // experiment's rate (Chaos Toolkit's order). A busy machine gets three tries; if it never
    // holds, nothing is injected and the verdict is Inconclusive.
    const probeS = t.steady_window_s + 1;
    for (let attempt = 1; attempt <= STEADY_ATTEMPTS; attempt++) {
      const probeLoad = await runOpenLoad({ target: driver.target, prepared, rate: spec.load.rate, durationMs: probeS * 1000, deliveryDeadlineMs: 15_000, signal: run.signal });
      checkAborted();
      const lag = await sampleLag(driver, channel);
      const at: TimedSample = { t_s: 1, routers: {}, connectors: {}, lag_sum: lag, provider: null, load: { offered: probeLoad.offered, accepted: probeLoad.accepted, failed: probeLoad.failed, delivered: probeLoad.delivered } };
      liveBefore = evaluateProbes(spec.steady_state, probeLoad.timeline, [at], 1, probeS);
      const failing = liveBefore.filter((p) => !p.ok);
      step('steady state before', `${failing.length ? 'NOT met' : 'met'} (attempt ${attempt}, ${probeS} s probe load at ${spec.load.rate} msg/s: ${liveBefore.map((p) => `${p.name}: ${p.observed}`).join('; ')})`);
      if (failing.length === 0) break;
      if (attempt === STEADY_ATTEMPTS) skippedFault = true;
    }
    checkAborted();

    if (skippedFault) {
      step('method skipped', 'the steady state did not hold: the fault is not injected');
    } else {
      // Load and observation.
      const durationMs = plan.load_seconds * 1000;
      sampler = startSampler(driver, channel, () => progress);
      loadStart = Date.now();
      step('load started', `${spec.load.rate} msg/s for ${plan.load_seconds} s`);
      const loadPromise = runOpenLoad({
        target: driver.target,
        prepared,
        rate: spec.load.rate,
        durationMs,
        deliveryDeadlineMs: spec.load.delivery_deadline_s * 1000,
        signal: run.signal,
        onProgress: (p) => {
          progress = p;
          emit({ kind: 'progress', message: '', progress: p });
        },
      });
      // Sleeping until the fault must not leave the load's rejection unhandled.
      loadPromise.catch(() => {});
      await sleep(t.warmup_s * 1000);
      faultAt = Date.now();
      injection = await inject();
      step('fault injected', injection.proof.join(' | '));
      await sleep(t.fault_duration_s * 1000);
      await stopFault(injection);
      faultStoppedAt = Date.now();
      injection.stopped_at = new Date(faultStoppedAt).toISOString();
      injection.stopped_t_s = ts(faultStoppedAt);
      step('fault stopped');
      result = await loadPromise;
      step('load finished', `accepted ${result.accepted}, delivered ${result.delivered}, lost ${result.lost}, duplicates ${result.duplicates}`);
    }
    await Promise.allSettled(watchers);
  } catch (err) {
    if (err instanceof Interrupted || run.signal.aborted) {
      if (!skippedFault) step('interrupted', 'rolling back');
    } else {
      error = err instanceof Error ? err.message : String(err);
      step('error', error);
    }
    run.abort();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const samples = sampler ? await sampler.stop() : [];
  const rollback = await rollBack();

  // Analysis.
  if (result) loadStart = Date.parse(result.started_at) || loadStart;
  // Every time on the load's clock (negative: before the load started).
  for (const m of [...method, ...rollback.steps]) m.t_s = ts(Date.parse(m.at));
  if (injection) {
    injection.t_s = ts(Date.parse(injection.at));
    if (injection.stopped_at) injection.stopped_t_s = ts(Date.parse(injection.stopped_at));
  }
  const tsamples = timed(samples, loadStart);
  const timeline = result?.timeline ?? [];
  const faultT = faultAt ? ts(faultAt) : t.warmup_s;
  const stopT = faultStoppedAt ? ts(faultStoppedAt) : null;
  const loadS = plan.load_seconds;
  const beforeWin: [number, number] = [Math.max(0, faultT - t.steady_window_s), faultT];
  const afterWin: [number, number] = [Math.max(0, loadS - t.steady_window_s), loadS];
  const before = evaluateProbes(spec.steady_state, timeline, tsamples, ...beforeWin);
  const after = evaluateProbes(spec.steady_state, timeline, tsamples, ...afterWin);
  const interrupted = options.signal?.aborted ?? false;

  const numbers: Record<string, number | null> = {
    accepted: result?.accepted ?? null,
    lost: result ? result.lost : null,
    duplicates: result?.duplicates ?? null,
    out_of_order: result?.out_of_order ?? null,
    failed_requests: result?.failed ?? null,
    unexpected_answers: result ? Object.entries(result.answers).filter(([k]) => !spec.load.expected_statuses.includes(k)).reduce((a, [, v]) => a + v, 0) : null,
    recovery_seconds: null,
  };
  if (injection && result) {
    // Recovery counts from the moment the platform is left to heal: the fault's end, or for a kill
    // that is not undone, the kill itself.
    const from = fault.type === 'kill' && !fault.restart ? faultT : (stopT ?? faultT);
    if (fault.type !== 'scale') numbers.recovery_seconds = recoverySeconds(timeline, from, loadS, recoveryTolerance(spec), t.recovery_hold_s);
    const d = injection.details;
    if (typeof d.takeover_at === 'number') numbers.takeover_seconds = Math.round((d.takeover_at - faultAt) / 10) / 100;
    else if (fault.type === 'kill' && spec.target.workload === 'router') numbers.takeover_seconds = null;
    if (fault.type === 'provider-outage') {
      const conn = `connector-${channel}`;
      const during = tsamples.filter((s) => s.t_s >= faultT - 0.5);
      const opensAt = (s: TimedSample | undefined) => s?.connectors[conn]?.breaker_opens ?? 0;
      const startS = [...tsamples].reverse().find((s) => s.t_s <= faultT);
      const opened = during.some((s) => (s.connectors[conn]?.breaker_state ?? 0) >= 1) || opensAt(during.at(-1)) > opensAt(startS);
      numbers.breaker_opened = opened ? 1 : 0;
      const waits = during.map((s) => s.connectors[conn]?.waiting).filter((w): w is number => typeof w === 'number');
      numbers.max_waiting = waits.length ? Math.max(...waits) : null;
      // Drained: back to the backlog the connector had in the steady state before the fault
      // (a few deliveries are always in flight or paced).
      const baseline = Math.max(0, ...tsamples.filter((s) => s.t_s >= faultT - t.steady_window_s - 2 && s.t_s <= faultT).map((s) => s.connectors[conn]?.waiting ?? 0));
      const drained = stopT === null ? undefined : tsamples.find((s) => s.t_s >= stopT && typeof s.connectors[conn]?.waiting === 'number' && s.connectors[conn]!.waiting! <= baseline);
      notes.push(`Drained means connector_deliveries_waiting back to its level before the fault (${baseline}).`);
      numbers.drain_seconds = drained && stopT !== null ? Math.round((drained.t_s - stopT) * 100) / 100 : null;
    }
    if (fault.type === 'scale') {
      const w = t.steady_window_s;
      const t1 = routedPerSecond(tsamples, faultT - w, faultT);
      const t2 = routedPerSecond(tsamples, loadS - w, loadS);
      numbers.throughput_1 = t1;
      numbers.throughput_2 = t2;
      numbers.speedup = t1 && t2 ? Math.round((t2 / t1) * 100) / 100 : null;
      numbers.rebalance_seconds = typeof d.rebalanced_at === 'number' ? Math.round((d.rebalanced_at - faultAt) / 10) / 100 : null;
      const series = routedSeries(tsamples).filter((p) => p.t > faultT);
      numbers.rebalance_pause_seconds = t1 ? series.filter((p) => p.v < t1 / 2).length : null;
      const delivered2 = timeline.filter((p) => p.t_s >= loadS - w && p.t_s < loadS).reduce((a, p) => a + p.delivered_per_s, 0) / w;
      notes.push(
        `Bottleneck: routing by construction (emulated store round trips, see the target's settings). With ${fault.replicas} routers the provider received ${Math.round(delivered2 * 10) / 10}/s over the same last window${t2 && delivered2 < t2 * 0.9 ? ': the connector side, not routing, then limited end-to-end delivery' : ''}. The scale step includes starting the new router process; the consumer group rebalances stop-the-world (every member pauses), which is the rebalance pause.`,
      );
      notes.push(
        `Throughput is messages routed per second (sum of the routers' messages_processed_total{status="routed"}), over the last ${w} s before the scale step (${t1}/s with ${spec.target.replicas ?? '?'} router(s)) and the last ${w} s of the load (${t2}/s with ${fault.replicas}).`,
      );
    }
  }
  if (fault.type === 'scale' && numbers.throughput_1 === undefined) Object.assign(numbers, { throughput_1: null, throughput_2: null, speedup: null });
  if (hasEnv) notes.push(`The ${spec.target.workload} instances ran with ${Object.entries(targetEnv).map(([k, v]) => `${k}=${v}`).join(', ')} during the run (restored by the rollback).`);
  const rules = checkRules(spec.verify, numbers);

  let verdict: Verdict;
  let reason: string;
  if (interrupted) {
    verdict = 'Inconclusive';
    reason = 'interrupted before the end; the platform was rolled back';
  } else if (error) {
    verdict = 'Inconclusive';
    reason = `the run failed: ${error}`;
  } else if (skippedFault) {
    verdict = 'Inconclusive';
    reason = 'the steady state did not hold before the fault, so the fault was not injected';
  } else if (!injection?.landed) {
    verdict = 'Inconclusive';
    reason = 'no proof that the fault landed';
  } else if (rules.some((r) => !r.ok) || after.some((p) => !p.ok)) {
    verdict = 'Fail';
    reason = [...rules.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`), ...after.filter((p) => !p.ok).map((p) => `steady state after: ${p.name} (observed ${p.observed})`)].join('; ');
  } else {
    verdict = 'Pass';
    reason = 'the steady state held before and after, the fault landed and every rule held';
  }
  if (!rollback.ok) reason += `; ROLLBACK INCOMPLETE: ${rollback.errors.join('; ')}`;

  return {
    experiment: spec,
    run_id: `${spec.name}-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`,
    platform: driver.kind,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date().toISOString(),
    verdict,
    reason,
    plan: plan.steps,
    steady_state_before: { ok: liveBefore.length === spec.steady_state.length && liveBefore.every((p) => p.ok), probes: liveBefore, window_s: null },
    baseline_before_fault: { ok: before.every((p) => p.ok), probes: before, window_s: beforeWin },
    steady_state_after: { ok: after.every((p) => p.ok), probes: after, window_s: afterWin },
    method,
    injection,
    verification: { ...numbers, rules },
    rollback,
    load: result && {
      offered: result.offered,
      accepted: result.accepted,
      failed: result.failed,
      delivered: result.delivered,
      lost: result.lost,
      duplicates: result.duplicates,
      out_of_order: result.out_of_order,
      answers: result.answers,
      http_ms: { ...result.http_ms },
      e2e_ms: { ...result.e2e_ms },
      lost_sample: result.lost_sample,
      started_at: result.started_at,
    },
    notes,
    error,
    interrupted,
    series: { timeline, samples: samples.map((s) => ({ ...s, t_s: ts(s.at) })) },
  };

  async function inject(): Promise<Injection> {
    const at = Date.now();
    const base: Injection = { type: fault.type, at: new Date(at).toISOString(), t_s: ts(at), stopped_at: null, stopped_t_s: null, targets: plan.targets, landed: false, proof: [], details: {} };
    switch (fault.type) {
      case 'kill': {
        const records = [];
        for (const name of plan.targets) records.push(await driver.kill(name, fault.signal));
        base.details.killed = records;
        base.proof = records.map((r) => r.proof);
        base.landed = records.every((r) => r.gone_at !== null);
        if (spec.target.workload === 'router') {
          const killed = new Set(plan.targets);
          watchers.push(
            driver
              .waitFor(async () => {
                const survivors = (await driver.listInstances('router')).filter((i) => i.state === 'running' && !killed.has(i.name));
                const owned = await Promise.all(survivors.map(async (s) => [s.name, await assigned(driver, s.name)] as const));
                return owned.reduce((a, [, n]) => a + (n ?? 0), 0) === driver.partitions && { at: Date.now(), owned };
              }, (t.fault_duration_s + t.observe_s) * 1000, 200)
              .then((r) => {
                if (!r) return step('takeover', `the survivors did not own every partition within ${t.fault_duration_s + t.observe_s} s`);
                base.details.takeover_at = r.at;
                base.details.takeover = Object.fromEntries(r.owned);
                step('takeover', `survivors own all ${driver.partitions} partitions after ${((r.at - at) / 1000).toFixed(2)} s: ${r.owned.map(([n, k]) => `${n}=${k}`).join(', ')}`);
              }),
          );
        }
        break;
      }
      case 'scale': {
        const beforeNames = new Set((await driver.listInstances('router')).filter((i) => i.state === 'running').map((i) => i.name));
        const after = await driver.scale('router', fault.replicas, { env: targetEnv });
        const added = after.filter((i) => i.state === 'running' && !beforeNames.has(i.name));
        base.details.added = added.map((i) => ({ name: i.name, pid: i.pid, started_at: i.started_at }));
        base.details.scaled_at = Date.now();
        base.proof.push(`${added.map((i) => `${i.name} running as pid ${i.pid}`).join(', ') || 'no new instance'}; ${after.filter((i) => i.state === 'running').length} routers running`);
        const r = await driver.waitFor(async () => {
          const running = (await driver.listInstances('router')).filter((i) => i.state === 'running');
          const owned = await Promise.all(running.map(async (s) => [s.name, (await assigned(driver, s.name)) ?? 0] as const));
          return owned.every(([, n]) => n > 0) && owned.reduce((a, [, n]) => a + n, 0) === driver.partitions && owned;
        }, (t.observe_s * 1000) / 2, 200);
        if (r) {
          base.details.rebalanced_at = Date.now();
          base.details.assignment = Object.fromEntries(r);
          base.proof.push(`partitions spread over ${r.length} routers: ${r.map(([n, k]) => `${n}=${k}`).join(', ')}`);
        }
        base.landed = added.length > 0 && r !== null;
        break;
      }
      case 'provider-outage': {
        const stats = await driver.providerStats();
        base.details.refused_before = ((stats?.[fault.channel] as { faults?: { down?: number } } | undefined)?.faults?.down) ?? 0;
        const r = await driver.setProviderFault(fault.channel, fault.mode === 'down' ? { down: true } : { error_rate: fault.error_rate, error_code: 130429 });
        base.proof.push(r.proof);
        base.landed = r.proof.includes(fault.mode === 'down' ? '"down":true' : '"error_rate"');
        break;
      }
      case 'broker-outage': {
        const r = await driver.setBrokerFault(fault.mode === 'down' ? 'down' : 'restart');
        base.details.broker = r;
        base.proof.push(r.proof);
        base.landed = fault.mode === 'down' ? /ECONNREFUSED/.test(r.proof) : r.old_pid !== r.new_pid && r.new_pid !== null;
        break;
      }
    }
    return base;
  }

  async function stopFault(inj: Injection) {
    switch (fault.type) {
      case 'kill':
        if (fault.restart) for (const name of inj.targets) await driver.start(name, hasEnv ? { env: targetEnv } : {});
        break;
      case 'provider-outage': {
        const stats = await driver.providerStats();
        const refused = ((stats?.[fault.channel] as { faults?: { down?: number; error?: number } } | undefined)?.faults?.[fault.mode === 'down' ? 'down' : 'error']) ?? 0;
        const during = refused - ((inj.details.refused_before as number | undefined) ?? 0);
        inj.details.calls_refused_during_fault = during;
        inj.proof.push(`the provider refused ${during} calls during the outage (/_sim/stats)`);
        inj.landed = inj.landed && during > 0;
        const r = await driver.setProviderFault(fault.channel, null);
        inj.proof.push(`cleared: ${r.proof}`);
        break;
      }
      case 'broker-outage':
        if (fault.mode === 'down') inj.proof.push(`up: ${(await driver.setBrokerFault('up')).proof}`);
        break;
      case 'scale':
        break;
    }
  }

  async function rollBack(): Promise<Journal['rollback']> {
    const steps: MethodStep[] = [];
    const errors: string[] = [];
    const rstep = (s: string, detail?: string) => {
      const at = Date.now();
      steps.push({ at: new Date(at).toISOString(), t_s: ts(at), step: s, ...(detail ? { detail } : {}) });
      emit({ kind: 'step', message: `rollback: ${s}${detail ? `: ${detail}` : ''}` });
    };
    const attempt = async (what: string, fn: () => Promise<string | void>) => {
      try {
        const detail = await fn();
        rstep(what, detail || undefined);
      } catch (err) {
        errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        rstep(what, `FAILED: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    if (spec.rollback.provider_up) {
      for (const ch of ['whatsapp', 'instagram'] as const) await attempt(`provider ${ch} faults cleared`, async () => void (await driver.setProviderFault(ch, null)));
    }
    if (spec.rollback.broker_up) await attempt('brokers up', async () => (await driver.setBrokerFault('up')).proof);
    const restoreEnv: Record<string, string> = {};
    if (spec.rollback.restore_env && hasEnv) {
      const base = driver.baseEnv(spec.target.workload);
      for (const k of Object.keys(targetEnv)) restoreEnv[k] = base[k] ?? '';
    }
    if (spec.rollback.restore_replicas) {
      const want = originalInstances.filter((i) => i.state === 'running');
      const routers = want.filter((i) => i.workload === 'router').length;
      if (routers > 0) {
        await attempt(`router replicas restored to ${routers}`, async () => {
          if (hasEnv && spec.target.workload === 'router') {
            for (const i of (await driver.listInstances('router')).filter((x) => x.state === 'running')) await driver.kill(i.name, 'TERM');
          }
          const now = await driver.scale('router', routers, { env: restoreEnv });
          return now.filter((i) => i.state === 'running').map((i) => `${i.name} pid ${i.pid}`).join(', ');
        });
      }
      for (const i of want.filter((x) => x.workload !== 'router')) {
        const cur = (await driver.listInstances()).find((x) => x.name === i.name);
        const needsEnv = hasEnv && spec.target.workload === i.workload;
        if (cur?.state === 'running' && !needsEnv) continue;
        await attempt(`${i.name} started again`, async () => {
          if (cur?.state === 'running') await driver.kill(i.name, 'TERM');
          const s = await driver.start(i.name, needsEnv ? { env: restoreEnv } : {});
          return `pid ${s.pid}`;
        });
      }
    }
    return { ok: errors.length === 0, steps, errors };
  }
}

async function assigned(driver: PlatformDriver, name: string): Promise<number | null> {
  const text = await driver.scrape(name);
  if (text === null) return null;
  const m = /^kafka_consumer_assigned_partitions\{[^}]*topic="chat4all\.messages\.accepted"[^}]*\}\s+(\S+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** True once the running routers together own every partition of the accepted topic, each some. */
async function routersOwnEverything(driver: PlatformDriver): Promise<boolean> {
  const running = (await driver.listInstances('router')).filter((i) => i.state === 'running');
  const owned = await Promise.all(running.map((r) => assigned(driver, r.name)));
  return running.length > 0 && owned.every((n) => (n ?? 0) > 0) && owned.reduce<number>((a, n) => a + (n ?? 0), 0) === driver.partitions;
}

/** The routers' consumer lag now (summed over partitions), or null when no router exports it. */
async function sampleLag(driver: PlatformDriver, channel: 'whatsapp' | 'instagram'): Promise<number | null> {
  const s = startSampler(driver, channel, () => null, 60_000);
  try {
    return (await s.now()).lag_sum;
  } finally {
    await s.stop();
  }
}

function timed(samples: Sample[], loadStart: number): TimedSample[] {
  return samples.map((s) => ({ ...s, t_s: (s.at - loadStart) / 1000 }));
}

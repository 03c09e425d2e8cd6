import { prepareConversations, runOpenLoad } from '../loadtest/generator.ts';
import type { Instance, PlatformDriver } from './driver.ts';
import { systemEngineClock } from './engine-clock.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import { buildFault } from './faults/build-fault.ts';
import type { Journal } from './journal.ts';
import { method } from './phases/method.ts';
import { prepare } from './phases/prepare.ts';
import { rollBack } from './phases/rollback.ts';
import { steadyStateBefore } from './phases/steady-state.ts';
import { onLoadClock, verify } from './phases/verify.ts';
import { planExperiment } from './plan.ts';
import { Interrupted, RunContext, type EngineDeps, type EngineEvent } from './run-context.ts';
import { runJournal } from './run-journal.ts';
import { startSampler } from './sampler.ts';

export { BlastRadiusError, planExperiment, type Plan } from './plan.ts';
export type { EngineDeps, EngineEvent } from './run-context.ts';

export interface RunOptions {
  signal?: AbortSignal;
  onEvent?: (e: EngineEvent) => void;
  /** Bound on getting the target ready (partitions assigned) before the load. @default 45000 */
  readyTimeoutMs?: number;
  /** Time, load and sampling; real ones unless a test passes fakes. */
  deps?: Partial<EngineDeps>;
}

const realDeps: EngineDeps = { clock: systemEngineClock, load: { prepare: (target, n) => prepareConversations(target, n), run: runOpenLoad }, sampler: startSampler };

/**
 * Runs one experiment, in named phases: plan → prepare → steady state before → method (load,
 * inject, stop the fault) → rollback (always) → verify. Returns the journal; writing the evidence
 * is the caller's (see `evidence.ts`).
 */
export async function runExperiment(spec: ExperimentSpec, driver: PlatformDriver, options: RunOptions = {}): Promise<Journal> {
  const original = await driver.listInstances();
  const plan = planExperiment(spec, original);
  const fault = buildFault(spec);
  const ctx = new RunContext(spec, driver, { ...realDeps, ...options.deps }, options.onEvent ?? (() => {}), options.signal);
  try {
    const prepared = await prepare(ctx, original, options.readyTimeoutMs ?? 45_000);
    await steadyStateBefore(ctx, prepared);
    if (ctx.record.skipped) ctx.step('method skipped', 'the steady state did not hold: the fault is not injected');
    else await method(ctx, fault, plan, prepared);
    await ctx.settle();
  } catch (err) {
    if (err instanceof Interrupted || ctx.signal.aborted) {
      if (!ctx.record.skipped) ctx.step('interrupted', 'rolling back');
    } else {
      ctx.record.error = err instanceof Error ? err.message : String(err);
      ctx.step('error', ctx.record.error);
    }
    ctx.abort();
  } finally {
    ctx.end();
  }
  const samples = (await ctx.record.sampler?.stop()) ?? [];
  const rollback = await rollBack(ctx, original);
  onLoadClock(ctx, rollback);
  return runJournal(ctx, plan, verify(ctx, fault, plan, samples, rollback), rollback, samples);
}

/**
 * Only the rollback phase, for a run whose engine is gone (its operator died): back to `original`,
 * the instances that ran before it, as far as `spec.rollback` asks.
 */
export async function rollBackExperiment(spec: ExperimentSpec, driver: PlatformDriver, original: Instance[], options: Pick<RunOptions, 'onEvent' | 'deps'> = {}): Promise<Journal['rollback']> {
  const ctx = new RunContext(spec, driver, { ...realDeps, ...options.deps }, options.onEvent ?? (() => {}));
  return rollBack(ctx, original);
}

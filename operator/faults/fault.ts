import type { LoadResult, TimelinePoint } from '../../loadtest/generator.ts';
import { recoverySeconds, recoveryTolerance, type TimedSample } from '../analysis.ts';
import type { Instance, PlatformDriver } from '../driver.ts';
import type { EngineClock } from '../engine-clock.ts';
import type { ExperimentSpec } from '../experiment-spec.ts';
import type { Injection } from '../journal.ts';

/** Thrown before anything is touched when a kill would exceed the blast-radius limit. */
export class BlastRadiusError extends Error {
  override name = 'BlastRadiusError';
}

/** What a fault's plan sees: the platform's instances, and those of the target workload. */
export interface PlanInput {
  instances: Instance[];
  /** The target workload's instances. */
  of: Instance[];
  /** The target workload's instances that run (or are starting). */
  running: Instance[];
  /** Instances of the target the experiment starts from (`target.replicas`, else those running). */
  replicas: number;
}

/** The fault's part of the plan: who it hits and, in words, what it does once the load runs. */
export interface FaultPlan {
  targets: string[];
  steps: string[];
}

/** What a fault may use while it acts on the platform. */
export interface FaultRun {
  readonly driver: PlatformDriver;
  readonly clock: EngineClock;
  /** Records a method step in the journal (and tells the caller). */
  step(step: string, detail?: string): void;
  /** Something the fault keeps watching after `inject` returned (awaited before the verification). */
  watch(observation: Promise<unknown>): void;
}

/** A finished run as a fault measures it, every time on the load's clock (seconds). */
export interface Measurement {
  injection: Injection;
  result: LoadResult;
  timeline: TimelinePoint[];
  samples: TimedSample[];
  /** When the fault was injected (epoch ms). */
  faultAt: number;
  /** The same, on the load's clock. */
  faultT: number;
  /** When the fault was stopped, on the load's clock. */
  stopT: number | null;
  /** Seconds of load. */
  loadS: number;
}

/** Named numbers for the verification rules, and notes the reader needs to read them. */
export interface Measured {
  numbers: Record<string, number | null>;
  notes: string[];
}

/**
 * One kind of fault (`spec.fault.type`), from plan to measurement. `buildFault` chooses the module;
 * the engine's phases call it in this order: plan (touches nothing) → inject → stop → measure.
 * What every run restores whatever the fault (replicas, provider faults, brokers, settings) is the
 * engine's rollback phase, not the fault's.
 */
export interface FaultModule {
  /** The targets and the steps, enforcing the blast-radius limit (throws `BlastRadiusError`). */
  plan(input: PlanInput): FaultPlan;
  /** Acts on the platform and fills `injection` (proof, landed, details). */
  inject(run: FaultRun, injection: Injection): Promise<void>;
  /** Ends the fault at the end of its window (and may add proof that it landed). */
  stop(run: FaultRun, injection: Injection): Promise<void>;
  /** The fault's numbers, once the load is over (only when the fault was injected and the load finished). */
  measure(m: Measurement): Measured;
  /** The numbers the fault always reports, null when `measure` did not run. */
  readonly unmeasured: Record<string, null>;
}

/** Seconds until delivered/s is back within tolerance of offered/s, counted from `from` (load clock). */
export function recoveryFrom(spec: ExperimentSpec, m: Measurement, from: number): number | null {
  return recoverySeconds(m.timeline, from, m.loadS, recoveryTolerance(spec), spec.timing.recovery_hold_s);
}

/** Seconds between two epoch-ms instants, to two decimals. */
export const secondsBetween = (from: number, to: number) => Math.round((to - from) / 10) / 100;

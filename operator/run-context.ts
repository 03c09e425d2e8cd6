import type { LoadProgress, LoadResult, LoadTarget, OpenLoadOptions, PreparedConversations } from '../loadtest/generator.ts';
import type { PlatformDriver } from './driver.ts';
import type { EngineClock } from './engine-clock.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import type { FaultRun } from './faults/fault.ts';
import type { Injection, MethodStep, ProbeResult } from './journal.ts';
import type { Sample } from './sampler.ts';

/** What the engine tells its caller while it runs: each step, and the load's progress. */
export interface EngineEvent {
  kind: 'step' | 'progress';
  message: string;
  progress?: LoadProgress;
}

/** The load generator, as the engine uses it (`loadtest/generator.ts`). */
export interface LoadPort {
  prepare(target: LoadTarget, conversations: number): Promise<PreparedConversations>;
  run(options: OpenLoadOptions): Promise<LoadResult>;
}

/** A running sampler of the platform's metrics (`sampler.ts`). */
export interface Sampler {
  /** Takes one sample now. */
  now(): Promise<Sample>;
  /** Stops sampling; every sample taken. */
  stop(): Promise<Sample[]>;
}

/** Starts sampling every `intervalMs` (default one second). */
export type SamplerFactory = (driver: PlatformDriver, channel: 'whatsapp' | 'instagram', progress: () => LoadProgress | null, intervalMs?: number) => Sampler;

/** Where the engine's time, load and samples come from (real ones by default; fakes in tests). */
export interface EngineDeps {
  clock: EngineClock;
  load: LoadPort;
  sampler: SamplerFactory;
}

/** What happened so far; the phases write it, the verification reads it (also after an error). */
export interface RunRecord {
  /** The steady-state probes checked before the method (the last try). */
  steadyBefore: ProbeResult[];
  /** The steady state never held before the method: nothing was injected. */
  skipped: boolean;
  sampler: Sampler | null;
  progress: LoadProgress | null;
  result: LoadResult | null;
  injection: Injection | null;
  /** Epoch ms; 0 until the fault is injected. */
  faultAt: number;
  /** Epoch ms; 0 until the fault is stopped. */
  faultStoppedAt: number;
  error: string | null;
}

/** The run was interrupted (the caller's signal); the rollback still runs. */
export class Interrupted extends Error {}

/**
 * One run's shared state and services: the spec, the driver, the clock, the journal's method steps
 * and notes, and the abort signal every wait honours. The phases take it; a fault sees it as a
 * `FaultRun`.
 */
export class RunContext implements FaultRun {
  readonly method: MethodStep[] = [];
  readonly notes: string[] = [];
  readonly startedAt: number;
  /** Epoch ms; 0 until the load starts. Times in the journal are on the load's clock. */
  loadStart = 0;
  readonly record: RunRecord = { steadyBefore: [], skipped: false, sampler: null, progress: null, result: null, injection: null, faultAt: 0, faultStoppedAt: 0, error: null };
  private readonly watchers: Promise<unknown>[] = [];
  private readonly run = new AbortController();
  private readonly onAbort = () => this.run.abort();

  constructor(
    readonly spec: ExperimentSpec,
    readonly driver: PlatformDriver,
    readonly deps: EngineDeps,
    private readonly emit: (e: EngineEvent) => void,
    private readonly outer?: AbortSignal,
  ) {
    this.startedAt = deps.clock.now();
    outer?.addEventListener('abort', this.onAbort, { once: true });
    if (outer?.aborted) this.onAbort();
  }

  get clock(): EngineClock {
    return this.deps.clock;
  }

  /** Aborts every wait and the load (on an interruption, or after an error). */
  get signal(): AbortSignal {
    return this.run.signal;
  }

  /** The caller interrupted the run. */
  get interrupted(): boolean {
    return this.outer?.aborted ?? false;
  }

  /** Seconds on the load's clock (before the load starts: since the run started). */
  ts(at: number): number {
    return Math.round(((at - (this.loadStart || this.startedAt)) / 1000) * 100) / 100;
  }

  step(step: string, detail?: string): void {
    const at = this.clock.now();
    this.method.push({ at: new Date(at).toISOString(), t_s: this.ts(at), step, ...(detail ? { detail } : {}) });
    this.emit({ kind: 'step', message: detail ? `${step}: ${detail}` : step });
  }

  event(e: EngineEvent): void {
    this.emit(e);
  }

  watch(observation: Promise<unknown>): void {
    this.watchers.push(observation);
  }

  /** Waits for what the fault still watches. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.watchers);
  }

  /** Waits `ms` on the clock; throws `Interrupted` when the run is aborted. */
  async sleep(ms: number): Promise<void> {
    try {
      await this.clock.sleep(ms, this.run.signal);
    } catch {
      throw new Interrupted('interrupted');
    }
  }

  checkAborted(): void {
    if (this.run.signal.aborted) throw new Interrupted('interrupted');
  }

  /** Detaches from the caller's signal. */
  end(): void {
    this.outer?.removeEventListener('abort', this.onAbort);
  }

  /** Stops every wait and the load (after an error or an interruption). */
  abort(): void {
    this.run.abort();
  }
}

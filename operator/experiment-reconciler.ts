import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from '../services/core/logger.ts';
import { rollBackExperiment, runExperiment, type EngineEvent } from './engine.ts';
import { writeEvidence } from './evidence.ts';
import { parseExperimentSpec, type ExperimentSpec } from './experiment-spec.ts';
import type { ExperimentEvents } from './experiment-events.ts';
import { hasFinalizer, recordedInstances, RollbackFinalizer } from './experiment-finalizer.ts';
import { condition, now, phaseOfStep, resultsOf } from './experiment-status.ts';
import { crdVerdict, EXPERIMENT_API, TERMINAL_PHASES, type ExperimentObject, type ExperimentPhase, type ExperimentStatus } from './experiment-resource.ts';
import type { Journal } from './journal.ts';
import type { KubernetesDriver } from './kubernetes-driver.ts';
import { kube, statusOf } from './kubernetes-errors.ts';
import type { OperatorMetrics } from './operator-metrics.ts';

export interface ReconcilerDeps {
  namespace: string;
  custom: CustomObjectsApi;
  events: ExperimentEvents;
  driver: KubernetesDriver;
  /** What the driver cannot run, in words (empty: it can). */
  limitations: (spec: ExperimentSpec) => string[];
  evidenceDir: string;
  metrics: OperatorMetrics;
  logger: Logger;
  /** Bound on getting the routers ready before the load. */
  readyTimeoutMs: number;
  /** Asks for another reconcile pass (after a run ends). */
  requestPass: () => void;
}

interface Run {
  uid: string;
  name: string;
  abort: AbortController;
  done: Promise<void>;
}

const byAge = (a: ExperimentObject, b: ExperimentObject) =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);

/**
 * Runs Experiments one at a time, in creation order. Each pass lists every Experiment and takes
 * the next step for each, top to bottom: deleting? (stop the run, or roll back and release the
 * finalizer) → ours and running? → finished? → interrupted elsewhere (roll back)? → valid? →
 * supported? → queued, or started (the finalizer first). Status and Events tell the user at every step.
 */
export class ExperimentReconciler {
  private current: Run | null = null;
  /** Not leading: passes change nothing (a pass already under way must not start a run). */
  private paused = true;
  /** Experiments this process ran or rejected: their non-final phases are not someone else's leftovers. */
  private readonly handled = new Set<string>();

  private readonly finalizer: RollbackFinalizer;

  constructor(private readonly deps: ReconcilerDeps) {
    this.finalizer = new RollbackFinalizer(deps.custom, deps.namespace);
  }

  /** The experiment running now, if any. */
  get running(): string | null {
    return this.current?.name ?? null;
  }

  /** Lets passes act (this replica leads). */
  resume(): void {
    this.paused = false;
  }

  /** One pass over every Experiment of the namespace. */
  async reconcileAll(): Promise<void> {
    if (this.paused) return;
    const { custom, namespace } = this.deps;
    const list = (await kube(`list experiments in ${namespace}`, () =>
      custom.listNamespacedCustomObject({ group: EXPERIMENT_API.group, version: EXPERIMENT_API.version, namespace, plural: EXPERIMENT_API.plural }),
    )) as { items?: ExperimentObject[] };
    const items = [...(list.items ?? [])].sort(byAge);
    const present = new Set(items.map((e) => e.metadata.uid));
    // Gone while running (deleted without our finalizer, e.g. by a forced removal): stop and roll back.
    if (this.current && !present.has(this.current.uid)) this.current.abort.abort(new Error('the Experiment was deleted'));
    // Runs whose operator died come first: nothing starts on a platform they may have left faulted.
    const orphaned = (e: ExperimentObject) => this.isOrphan(e);
    for (const exp of [...items.filter(orphaned), ...items.filter((e) => !orphaned(e))]) await this.reconcile(exp);
  }

  private async reconcile(exp: ExperimentObject): Promise<void> {
    if (this.paused) return;
    const uid = exp.metadata.uid ?? exp.metadata.name;
    const name = exp.metadata.name;
    const phase = exp.status?.phase;

    if (exp.metadata.deletionTimestamp) {
      if (this.current?.uid === uid) {
        // The run rolls back, writes its last status and then releases the finalizer.
        this.current.abort.abort(new Error('the Experiment is being deleted'));
        return;
      }
      if (!hasFinalizer(exp)) return;
      if (this.isOrphan(exp)) await this.recover(exp);
      else await this.removeFinalizer(name);
      return;
    }
    if (this.current?.uid === uid) return;
    if (phase && TERMINAL_PHASES.includes(phase)) {
      // Finished, but the finalizer could not be released at the time.
      if (hasFinalizer(exp) && !this.handled.has(uid)) await this.removeFinalizer(name);
      return;
    }
    if (this.isOrphan(exp)) {
      await this.recover(exp);
      return;
    }
    if (phase && phase !== 'Pending') return; // our own run, finishing: its last status is on its way

    let spec: ExperimentSpec;
    try {
      spec = parseExperimentSpec(exp.spec, `Experiment ${name}`);
    } catch (err) {
      await this.reject(exp, 'InvalidSpec', (err as Error).message);
      return;
    }
    const limits = this.deps.limitations(spec);
    if (limits.length > 0) {
      await this.reject(exp, 'NotSupported', `not supported by the kubernetes driver: ${limits.join('; ')}`);
      return;
    }
    if (this.current) {
      if (phase !== 'Pending') {
        await this.patchStatus(exp, { phase: 'Pending', observedGeneration: exp.metadata.generation, message: `queued behind ${this.current.name}: one experiment runs at a time` }, true);
      }
      return;
    }
    if (this.paused) return;
    this.start(exp, spec);
  }

  /** In a run's phase, but no run of this process owns it: its operator stopped mid-run. */
  private isOrphan(exp: ExperimentObject): boolean {
    const phase = exp.status?.phase;
    const uid = exp.metadata.uid ?? exp.metadata.name;
    return !!phase && phase !== 'Pending' && !TERMINAL_PHASES.includes(phase) && this.current?.uid !== uid && !this.handled.has(uid);
  }

  /**
   * A run whose operator stopped mid-run: rolled back here from the instances its annotation
   * recorded (when it has our finalizer and the record), then Failed (Inconclusive) and released.
   */
  private async recover(exp: ExperimentObject): Promise<void> {
    // Never under a run of ours (only a second leader could have left this meanwhile): after it.
    if (this.current) return;
    const { driver, logger, metrics, events } = this.deps;
    const name = exp.metadata.name;
    const generation = exp.metadata.generation;
    const during = exp.status?.phase;
    const original = hasFinalizer(exp) ? recordedInstances(exp) : null;
    let spec: ExperimentSpec | null = null;
    try {
      spec = parseExperimentSpec(exp.spec, `Experiment ${name}`);
    } catch {
      // A spec that does not parse never ran here; nothing to roll back from.
    }
    let message = `interrupted: the operator running it stopped during ${during}; the rollback may not have run, check the platform (replicas, provider faults) before the next experiment`;
    if (spec && original) {
      const rolling = `interrupted: the operator running it stopped during ${during}; rolling back`;
      if (!(await this.patchStatus(exp, { phase: 'RollingBack', message: rolling }, true))) return;
      this.handled.add(exp.metadata.uid ?? name);
      logger.warn({ experiment: name, during }, rolling);
      try {
        await driver.loadBaseEnv();
        const r = await rollBackExperiment(spec, driver, original, { onEvent: (e) => e.kind === 'step' && logger.info({ experiment: name }, e.message) });
        message = `interrupted: the operator running it stopped during ${during}; rolled back by ${r.ok ? 'this operator' : `this operator, INCOMPLETE: ${r.errors.join('; ')}`}`;
      } catch (err) {
        message = `interrupted: the operator running it stopped during ${during}; the rollback failed: ${(err as Error).message}; check the platform before the next experiment`;
      }
    }
    const status: ExperimentStatus = { phase: 'Failed', verdict: 'Inconclusive', finishedAt: now(), message, conditions: [condition('Succeeded', 'Unknown', 'Interrupted', message, generation)] };
    let written: boolean;
    try {
      written = await this.patchStatus(exp, status, !(spec && original));
    } catch (err) {
      // Still RollingBack: a later pass takes it up again (a second rollback changes nothing).
      this.handled.delete(exp.metadata.uid ?? name);
      throw err;
    }
    if (!written) return;
    this.handled.add(exp.metadata.uid ?? name);
    metrics.experiments.inc({ verdict: 'Inconclusive' });
    await events.emit(exp, 'Warning', 'Interrupted', message);
    if (hasFinalizer(exp)) await this.removeFinalizer(name);
  }

  /** Pauses passes, aborts the running experiment (the engine rolls back) and waits until its status is written. */
  async stop(reason: string): Promise<void> {
    this.paused = true;
    const run = this.current;
    if (!run) return;
    this.deps.logger.info({ experiment: run.name, reason }, 'stopping the running experiment; rolling back');
    run.abort.abort(new Error(reason));
    await run.done;
  }

  private async reject(exp: ExperimentObject, reason: 'InvalidSpec' | 'NotSupported', message: string) {
    const written = await this.patchStatus(
      exp,
      { phase: 'Failed', observedGeneration: exp.metadata.generation, finishedAt: now(), message, conditions: [condition('Succeeded', 'False', reason, message, exp.metadata.generation)] },
      true,
    );
    if (!written) return;
    this.deps.logger.warn({ experiment: exp.metadata.name, reason }, message);
    this.deps.metrics.experiments.inc({ verdict: 'none' });
    await this.deps.events.emit(exp, 'Warning', reason, message);
  }

  private start(exp: ExperimentObject, spec: ExperimentSpec) {
    const uid = exp.metadata.uid ?? exp.metadata.name;
    const abort = new AbortController();
    const run: Run = { uid, name: exp.metadata.name, abort, done: Promise.resolve() };
    this.current = run;
    this.handled.add(uid);
    this.deps.metrics.running.set(1);
    run.done = this.run(exp, spec, abort.signal)
      .catch((err: unknown) => this.deps.logger.error({ err, experiment: run.name }, 'the run ended with an error'))
      .finally(() => {
        this.current = null;
        this.deps.metrics.running.set(0);
        this.deps.requestPass();
      });
  }

  /**
   * One run: the finalizer (with the instances to roll back to) before anything is touched, the
   * engine, the last status, and only then the finalizer released (a deletion meanwhile waits).
   */
  private async run(exp: ExperimentObject, spec: ExperimentSpec, signal: AbortSignal): Promise<void> {
    try {
      if (!(await this.addFinalizer(exp))) {
        this.handled.delete(exp.metadata.uid ?? exp.metadata.name);
        return;
      }
    } catch (err) {
      // Nothing was touched: the next pass decides again.
      this.handled.delete(exp.metadata.uid ?? exp.metadata.name);
      throw err;
    }
    try {
      await this.runEngine(exp, spec, signal);
    } finally {
      await this.removeFinalizer(exp.metadata.name);
    }
  }

  private async runEngine(exp: ExperimentObject, spec: ExperimentSpec, signal: AbortSignal): Promise<void> {
    const { driver, logger, events, metrics } = this.deps;
    const generation = exp.metadata.generation;
    const name = exp.metadata.name;
    const startedAt = now();
    const startMessage = `running ${spec.fault.type} on ${spec.target.workload}: steady state first`;
    await this.patchStatus(exp, {
      phase: 'SteadyState',
      observedGeneration: generation,
      startedAt,
      message: startMessage,
      conditions: [condition('Running', 'True', 'Started', startMessage, generation), condition('Succeeded', 'Unknown', 'Running', 'not finished', generation)],
    });
    await events.emit(exp, 'Normal', 'Started', `${startMessage}; the plan and the evidence go to ${this.deps.evidenceDir}`);
    logger.info({ experiment: name }, 'experiment started');

    let phase: ExperimentPhase = 'SteadyState';
    let phases = Promise.resolve();
    const onEvent = (e: EngineEvent) => {
      if (e.kind !== 'step') return;
      logger.info({ experiment: name }, e.message);
      const next = phaseOfStep(e.message);
      if (!next || next === phase) return;
      phase = next;
      // Phase changes are written in order and never hold the engine up.
      phases = phases.then(async () => {
        await this.patchStatus(exp, { phase: next, message: e.message.slice(0, 500) }).catch((err: unknown) => logger.warn({ err, experiment: name }, 'could not write the phase'));
      });
    };

    let journal: Journal;
    try {
      await driver.loadBaseEnv();
      journal = await runExperiment(spec, driver, { signal, onEvent, readyTimeoutMs: this.deps.readyTimeoutMs });
    } catch (err) {
      await phases;
      const message = `the run failed before it could start: ${(err as Error).message}`;
      logger.error({ err, experiment: name }, message);
      await this.finalStatus(exp, {
        phase: 'Failed',
        finishedAt: now(),
        message,
        conditions: [condition('Running', 'False', 'RunFailed', message, generation), condition('Succeeded', 'False', 'RunFailed', message, generation)],
      });
      metrics.experiments.inc({ verdict: 'none' });
      await events.emit(exp, 'Warning', 'RunFailed', message);
      return;
    }
    await phases;
    const dir = writeEvidence(this.deps.evidenceDir, journal);
    const verdict = crdVerdict(journal.verdict);
    const interrupted = journal.interrupted ? `interrupted (${signal.reason instanceof Error ? signal.reason.message : 'stopped'}); ` : '';
    const message = `${verdict}: ${interrupted}${journal.reason}`.slice(0, 1000);
    const failed = journal.error !== null || journal.interrupted;
    const status: ExperimentStatus = {
      phase: failed ? 'Failed' : 'Completed',
      verdict,
      finishedAt: now(),
      message,
      results: resultsOf(journal, dir),
      conditions: [
        condition('Running', 'False', failed ? 'RunFailed' : 'Finished', message, generation),
        condition('Succeeded', verdict === 'Passed' ? 'True' : verdict === 'Failed' ? 'False' : 'Unknown', verdict, message, generation),
      ],
    };
    await this.finalStatus(exp, status);
    metrics.experiments.inc({ verdict });
    await events.emit(exp, verdict === 'Passed' ? 'Normal' : 'Warning', 'Completed', `${message} (evidence: ${dir})`);
    logger.info({ experiment: name, verdict, evidence: dir }, 'experiment finished');
  }

  /** The finalizer before a run touches anything; false (and another pass) when the Experiment changed or went. */
  private async addFinalizer(exp: ExperimentObject): Promise<boolean> {
    const added = await this.finalizer.add(exp, await this.deps.driver.listInstances());
    if (!added) {
      this.deps.logger.info({ experiment: exp.metadata.name }, 'the Experiment changed or went before its run started; deciding again on the next pass');
      this.deps.requestPass();
    }
    return added;
  }

  private async removeFinalizer(name: string): Promise<void> {
    if (await this.finalizer.remove(name)) this.deps.logger.info({ experiment: name }, 'released the rollback finalizer');
  }

  /**
   * The last status of a run. If it cannot be written, the Experiment is left to a later pass,
   * which reports it interrupted (its phase is a run step that no run here owns any more).
   */
  private async finalStatus(exp: ExperimentObject, status: ExperimentStatus): Promise<void> {
    try {
      await this.patchStatus(exp, status);
    } catch (err) {
      this.handled.delete(exp.metadata.uid ?? exp.metadata.name);
      this.deps.logger.error({ err, experiment: exp.metadata.name }, 'could not write the final status');
    }
  }

  /**
   * A JSON merge patch of the status subresource; false when it was not applied. `precondition`:
   * only if the object is still the one we decided on (its resourceVersion; the API server answers
   * 409 otherwise, and the next pass decides again). An Experiment that is gone needs no status.
   */
  private async patchStatus(exp: ExperimentObject, status: ExperimentStatus, precondition = false): Promise<boolean> {
    const { custom, namespace } = this.deps;
    const body = { ...(precondition && exp.metadata.resourceVersion ? { metadata: { resourceVersion: exp.metadata.resourceVersion } } : {}), status };
    try {
      await kube(`patch experiments/${exp.metadata.name}/status`, () =>
        custom.patchNamespacedCustomObjectStatus(
          { group: EXPERIMENT_API.group, version: EXPERIMENT_API.version, namespace, plural: EXPERIMENT_API.plural, name: exp.metadata.name, body },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
    } catch (err) {
      if (statusOf(err) === 409 && precondition) {
        this.deps.logger.info({ experiment: exp.metadata.name }, 'the Experiment changed meanwhile; deciding again on the next pass');
        this.deps.requestPass();
        return false;
      }
      if (statusOf(err) === 404) {
        this.deps.logger.info({ experiment: exp.metadata.name }, 'the Experiment is gone');
        return true;
      }
      throw err;
    }
    return true;
  }
}

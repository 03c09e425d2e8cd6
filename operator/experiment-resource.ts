import type { Verdict } from './journal.ts';

/**
 * The Experiment custom resource as the operator reads and writes it. The CRD itself is built
 * by `cdk8s/experiment-crd.ts`; `operator/main.test.ts` checks that these names and enums are
 * exactly the CRD's (the operator does not import cdk8s, so the image does not ship it).
 */
export const EXPERIMENT_API = { group: 'chat4all.io', version: 'v1alpha1', plural: 'experiments', kind: 'Experiment' } as const;

/** `status.phase`: Pending (accepted, queued), the run's steps, then Completed or Failed. */
export const EXPERIMENT_PHASES = ['Pending', 'SteadyState', 'Injecting', 'Verifying', 'RollingBack', 'Completed', 'Failed'] as const;
export type ExperimentPhase = (typeof EXPERIMENT_PHASES)[number];

/** `status.verdict`, the engine's verdict in the CRD's words. */
export const EXPERIMENT_VERDICTS = ['Passed', 'Failed', 'Inconclusive'] as const;
export type ExperimentVerdict = (typeof EXPERIMENT_VERDICTS)[number];

export const TERMINAL_PHASES: readonly ExperimentPhase[] = ['Completed', 'Failed'];

/**
 * The operator's finalizer: added before a run touches the platform, removed once the run has
 * rolled back. Deleting a running Experiment therefore waits for its rollback.
 */
export const ROLLBACK_FINALIZER = 'chat4all.io/rollback';

/**
 * Set with the finalizer: the instances that ran before the run (`[{name, workload}]`, JSON), so
 * that another operator can roll back a run whose operator died.
 */
export const ROLLBACK_ANNOTATION = 'chat4all.io/rollback-instances';

/** Pass → Passed, Fail → Failed. */
export function crdVerdict(v: Verdict): ExperimentVerdict {
  return v === 'Pass' ? 'Passed' : v === 'Fail' ? 'Failed' : 'Inconclusive';
}

/** A Kubernetes condition (`status.conditions[]`), as the CRD's status schema defines it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** What the operator writes under `status`. */
export interface ExperimentStatus {
  phase?: ExperimentPhase;
  verdict?: ExperimentVerdict;
  observedGeneration?: number;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  conditions?: Condition[];
  results?: Record<string, unknown>;
}

/** An Experiment object as the API server returns it (only what the operator reads). */
export interface ExperimentObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: ExperimentStatus;
}

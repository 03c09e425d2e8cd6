import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcomes of an Experiment: the CRD's verdicts, or `none` when nothing ran (invalid, unsupported, refused). */
export type ExperimentOutcome = 'Passed' | 'Failed' | 'Inconclusive' | 'none';

/** The operator's metrics, in their own registry (with the process's default metrics). */
export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    /** Experiments finished, by verdict (`none`: rejected before it ran). */
    experiments: new Counter<'verdict'>({ name: 'chat4all_operator_experiments_total', help: 'Experiments the operator finished, by verdict (none: rejected before running)', labelNames: ['verdict'], registers: [registry] }),
    /** 1 while this replica holds the Lease. */
    leader: new Gauge({ name: 'chat4all_operator_leader', help: '1 while this replica holds the leader Lease', registers: [registry] }),
    /** 1 while an experiment runs. */
    running: new Gauge({ name: 'chat4all_operator_experiment_running', help: '1 while an experiment runs', registers: [registry] }),
    /** Reconcile passes that failed (the API server did not answer or refused); the next pass retries. */
    reconcileErrors: new Counter({ name: 'chat4all_operator_reconcile_errors_total', help: 'Reconcile passes that failed and will be retried', registers: [registry] }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;

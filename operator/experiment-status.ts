import type { Condition, ExperimentPhase } from './experiment-resource.ts';
import type { Journal } from './journal.ts';

/** Now, as the API server writes `metav1.Time` (whole seconds). */
export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The engine's step that moves an Experiment to its next phase (the phases in `phases/` name their steps;
 * `SteadyState` is set when the run starts).
 */
export function phaseOfStep(message: string): ExperimentPhase | null {
  if (message.startsWith('fault injected')) return 'Injecting';
  if (message.startsWith('load finished') || message.startsWith('method skipped')) return 'Verifying';
  if (message.startsWith('rollback:')) return 'RollingBack';
  return null;
}

/** A condition stamped now (`status.conditions[]`); the message cut to 1000 characters. */
export const condition = (type: string, status: Condition['status'], reason: string, message: string, generation?: number): Condition => ({
  type,
  status,
  reason,
  message: message.slice(0, 1000),
  lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  ...(generation !== undefined ? { observedGeneration: generation } : {}),
});

/** Named numbers of a journal for `status.results` (the rules as name → ok). */
export function resultsOf(j: Journal, evidence: string): Record<string, unknown> {
  const numbers = Object.fromEntries(Object.entries(j.verification).filter(([k]) => k !== 'rules'));
  return { run_id: j.run_id, evidence, ...numbers, rules: Object.fromEntries(j.verification.rules.map((r) => [r.name, r.ok])), rollback_ok: j.rollback.ok };
}

import type { TimelinePoint } from '../../loadtest/generator.ts';
import { checkRules, evaluateProbes, type TimedSample } from '../analysis.ts';
import type { FaultModule } from '../faults/fault.ts';
import type { Journal, ProbeResult, RuleResult, Verdict } from '../journal.ts';
import type { Plan } from '../plan.ts';
import type { RunContext } from '../run-context.ts';
import type { Sample } from '../sampler.ts';

/** The verification of a run: the probes before the fault and after it, the named numbers, the rules and the verdict. */
export interface Verification {
  timeline: TimelinePoint[];
  beforeWindow: [number, number];
  afterWindow: [number, number];
  /** The probes over the main load's last window before the fault. */
  before: ProbeResult[];
  /** The steady state after: the probes over the load's last window. */
  after: ProbeResult[];
  numbers: Record<string, number | null>;
  rules: RuleResult[];
  verdict: Verdict;
  /** Why, in one line. */
  reason: string;
}

/**
 * Puts every recorded time on the load's clock (the load generator's own start when it finished),
 * so steps, the injection, samples and the timeline line up.
 */
export function onLoadClock(ctx: RunContext, rollback: Journal['rollback']): void {
  const { record } = ctx;
  if (record.result) ctx.loadStart = Date.parse(record.result.started_at) || ctx.loadStart;
  // Every time on the load's clock (negative: before the load started).
  for (const m of [...ctx.method, ...rollback.steps]) m.t_s = ctx.ts(Date.parse(m.at));
  if (record.injection) {
    record.injection.t_s = ctx.ts(Date.parse(record.injection.at));
    if (record.injection.stopped_at) record.injection.stopped_t_s = ctx.ts(Date.parse(record.injection.stopped_at));
  }
}

/** Verify: the steady state after, the fault's numbers, the rules, and the verdict. */
export function verify(ctx: RunContext, fault: FaultModule, plan: Plan, samples: Sample[], rollback: Journal['rollback']): Verification {
  const { spec, record } = ctx;
  const { result, injection } = record;
  const t = spec.timing;
  const timed: TimedSample[] = samples.map((s) => ({ ...s, t_s: (s.at - ctx.loadStart) / 1000 }));
  const timeline = result?.timeline ?? [];
  const faultT = record.faultAt ? ctx.ts(record.faultAt) : t.warmup_s;
  const stopT = record.faultStoppedAt ? ctx.ts(record.faultStoppedAt) : null;
  const loadS = plan.load_seconds;
  const beforeWindow: [number, number] = [Math.max(0, faultT - t.steady_window_s), faultT];
  const afterWindow: [number, number] = [Math.max(0, loadS - t.steady_window_s), loadS];
  const before = evaluateProbes(spec.steady_state, timeline, timed, ...beforeWindow);
  const after = evaluateProbes(spec.steady_state, timeline, timed, ...afterWindow);

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
    const measured = fault.measure({ injection, result, timeline, samples: timed, faultAt: record.faultAt, faultT, stopT, loadS });
    Object.assign(numbers, measured.numbers);
    ctx.notes.push(...measured.notes);
  } else {
    Object.assign(numbers, fault.unmeasured);
  }
  const env = Object.entries(spec.target.env);
  if (env.length > 0) ctx.notes.push(`The ${spec.target.workload} instances ran with ${env.map(([k, v]) => `${k}=${v}`).join(', ')} during the run (restored by the rollback).`);
  const rules = checkRules(spec.verify, numbers);

  const { verdict, reason } = judge(ctx, rules, after);
  const incomplete = rollback.ok ? '' : `; ROLLBACK INCOMPLETE: ${rollback.errors.join('; ')}`;
  return { timeline, beforeWindow, afterWindow, before, after, numbers, rules, verdict, reason: reason + incomplete };
}

/** Inconclusive if interrupted, failed, skipped or without proof; Fail if a rule or an after-probe failed; else Pass. */
function judge(ctx: RunContext, rules: RuleResult[], after: ProbeResult[]): { verdict: Verdict; reason: string } {
  const { record } = ctx;
  if (ctx.interrupted) return { verdict: 'Inconclusive', reason: 'interrupted before the end; the platform was rolled back' };
  if (record.error) return { verdict: 'Inconclusive', reason: `the run failed: ${record.error}` };
  if (record.skipped) return { verdict: 'Inconclusive', reason: 'the steady state did not hold before the fault, so the fault was not injected' };
  if (!record.injection?.landed) return { verdict: 'Inconclusive', reason: 'no proof that the fault landed' };
  if (rules.some((r) => !r.ok) || after.some((p) => !p.ok)) {
    return {
      verdict: 'Fail',
      reason: [...rules.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`), ...after.filter((p) => !p.ok).map((p) => `steady state after: ${p.name} (observed ${p.observed})`)].join('; '),
    };
  }
  return { verdict: 'Pass', reason: 'the steady state held before and after, the fault landed and every rule held' };
}

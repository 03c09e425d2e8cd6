import { randomBytes } from 'node:crypto';
import type { Journal } from './journal.ts';
import type { Plan } from './plan.ts';
import type { Verification } from './phases/verify.ts';
import type { RunContext } from './run-context.ts';
import type { Sample } from './sampler.ts';

/** The journal of a finished run (what `journal.json` holds). */
export function runJournal(ctx: RunContext, plan: Plan, v: Verification, rollback: Journal['rollback'], samples: Sample[]): Journal {
  const { spec, record } = ctx;
  const { result } = record;
  const started = new Date(ctx.startedAt).toISOString();
  return {
    experiment: spec,
    run_id: `${spec.name}-${started.replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`,
    platform: ctx.driver.kind,
    started_at: started,
    ended_at: new Date(ctx.clock.now()).toISOString(),
    verdict: v.verdict,
    reason: v.reason,
    plan: plan.steps,
    steady_state_before: { ok: record.steadyBefore.length === spec.steady_state.length && record.steadyBefore.every((p) => p.ok), probes: record.steadyBefore, window_s: null },
    baseline_before_fault: { ok: v.before.every((p) => p.ok), probes: v.before, window_s: v.beforeWindow },
    steady_state_after: { ok: v.after.every((p) => p.ok), probes: v.after, window_s: v.afterWindow },
    method: ctx.method,
    injection: record.injection,
    verification: { ...v.numbers, rules: v.rules },
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
    notes: ctx.notes,
    error: record.error,
    interrupted: ctx.interrupted,
    series: { timeline: v.timeline, samples: samples.map((s) => ({ ...s, t_s: ctx.ts(s.at) })) },
  };
}

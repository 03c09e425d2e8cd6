import type { PreparedConversations } from '../../loadtest/generator.ts';
import type { FaultModule } from '../faults/fault.ts';
import type { Injection } from '../journal.ts';
import { channelOf, type Plan } from '../plan.ts';
import type { RunContext } from '../run-context.ts';

/**
 * The method: the load for warm-up + fault + observation, sampled every second; the fault injected
 * at `warmup_s` and stopped after `fault_duration_s`; then the load's deliveries awaited.
 */
export async function method(ctx: RunContext, fault: FaultModule, plan: Plan, prepared: PreparedConversations): Promise<void> {
  const { spec, driver, record, clock } = ctx;
  const t = spec.timing;
  record.sampler = ctx.deps.sampler(driver, channelOf(spec), () => record.progress);
  ctx.loadStart = clock.now();
  ctx.step('load started', `${spec.load.rate} msg/s for ${plan.load_seconds} s`);
  const load = ctx.deps.load.run({
    target: driver.target,
    prepared,
    rate: spec.load.rate,
    durationMs: plan.load_seconds * 1000,
    deliveryDeadlineMs: spec.load.delivery_deadline_s * 1000,
    signal: ctx.signal,
    onProgress: (p) => {
      record.progress = p;
      ctx.event({ kind: 'progress', message: '', progress: p });
    },
  });
  // Sleeping until the fault must not leave the load's rejection unhandled.
  load.catch(() => {});
  await ctx.sleep(t.warmup_s * 1000);

  record.faultAt = clock.now();
  const at = clock.now();
  const injection: Injection = { type: spec.fault.type, at: new Date(at).toISOString(), t_s: ctx.ts(at), stopped_at: null, stopped_t_s: null, targets: plan.targets, landed: false, proof: [], details: {} };
  await fault.inject(ctx, injection);
  record.injection = injection;
  ctx.step('fault injected', injection.proof.join(' | '));
  await ctx.sleep(t.fault_duration_s * 1000);

  await fault.stop(ctx, injection);
  record.faultStoppedAt = clock.now();
  injection.stopped_at = new Date(record.faultStoppedAt).toISOString();
  injection.stopped_t_s = ctx.ts(record.faultStoppedAt);
  ctx.step('fault stopped');

  const result = await load;
  record.result = result;
  ctx.step('load finished', `accepted ${result.accepted}, delivered ${result.delivered}, lost ${result.lost}, duplicates ${result.duplicates}`);
}

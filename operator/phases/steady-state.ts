import type { PreparedConversations } from '../../loadtest/generator.ts';
import { evaluateProbes, type TimedSample } from '../analysis.ts';
import { channelOf, STEADY_ATTEMPTS } from '../plan.ts';
import type { RunContext } from '../run-context.ts';

/**
 * The steady-state hypothesis, checked before the method on a short probe load at the
 * experiment's rate (Chaos Toolkit's order). A busy machine gets `STEADY_ATTEMPTS` tries; if it
 * never holds, `record.skipped` is set: nothing is injected and the verdict is Inconclusive.
 */
export async function steadyStateBefore(ctx: RunContext, prepared: PreparedConversations): Promise<void> {
  const { spec, driver, record } = ctx;
  const probeS = spec.timing.steady_window_s + 1;
  for (let attempt = 1; attempt <= STEADY_ATTEMPTS; attempt++) {
    const probeLoad = await ctx.deps.load.run({ target: driver.target, prepared, rate: spec.load.rate, durationMs: probeS * 1000, deliveryDeadlineMs: 15_000, signal: ctx.signal });
    ctx.checkAborted();
    const lag = await sampleLag(ctx);
    const at: TimedSample = { t_s: 1, routers: {}, connectors: {}, lag_sum: lag, provider: null, load: { offered: probeLoad.offered, accepted: probeLoad.accepted, failed: probeLoad.failed, delivered: probeLoad.delivered } };
    record.steadyBefore = evaluateProbes(spec.steady_state, probeLoad.timeline, [at], 1, probeS);
    const failing = record.steadyBefore.filter((p) => !p.ok);
    ctx.step(
      'steady state before',
      `${failing.length ? 'NOT met' : 'met'} (attempt ${attempt}, ${probeS} s probe load at ${spec.load.rate} msg/s: ${record.steadyBefore.map((p) => `${p.name}: ${p.observed}`).join('; ')})`,
    );
    if (failing.length === 0) break;
    if (attempt === STEADY_ATTEMPTS) record.skipped = true;
  }
  ctx.checkAborted();
}

/** The routers' consumer lag now (summed over partitions), or null when no router exports it. */
async function sampleLag(ctx: RunContext): Promise<number | null> {
  const s = ctx.deps.sampler(ctx.driver, channelOf(ctx.spec), () => null, 60_000);
  try {
    return (await s.now()).lag_sum;
  } finally {
    await s.stop();
  }
}

import { routedPerSecond, routedSeries } from '../analysis.ts';
import type { ExperimentSpec, Fault } from '../experiment-spec.ts';
import { assigned } from '../router-partitions.ts';
import { secondsBetween, type FaultModule } from './fault.ts';

type ScaleFault = Extract<Fault, { type: 'scale' }>;

/**
 * `scale`: the routers go from `target.replicas` to `fault.replicas` under load; it lands when a
 * new router runs and the partitions are spread over every router. It measures routed/s before
 * and after (`throughput_1`, `throughput_2`, `speedup`) and the rebalance; no recovery time.
 */
export function scaleFault(spec: ExperimentSpec, fault: ScaleFault): FaultModule {
  const t = spec.timing;
  const env = spec.target.env;
  return {
    plan({ replicas }) {
      return {
        targets: [spec.target.workload],
        steps: [`at ${t.warmup_s} s: scale ${spec.target.workload} from ${replicas} to ${fault.replicas} under load; measure routed/s before and after`],
      };
    },

    async inject(run, injection) {
      const { driver, clock } = run;
      const beforeNames = new Set((await driver.listInstances('router')).filter((i) => i.state === 'running').map((i) => i.name));
      const after = await driver.scale('router', fault.replicas, { env });
      const added = after.filter((i) => i.state === 'running' && !beforeNames.has(i.name));
      injection.details.added = added.map((i) => ({ name: i.name, pid: i.pid, started_at: i.started_at }));
      injection.details.scaled_at = clock.now();
      injection.proof.push(`${added.map((i) => `${i.name} running as pid ${i.pid}`).join(', ') || 'no new instance'}; ${after.filter((i) => i.state === 'running').length} routers running`);
      const spread = await driver.waitFor(async () => {
        const running = (await driver.listInstances('router')).filter((i) => i.state === 'running');
        const owned = await Promise.all(running.map(async (s) => [s.name, (await assigned(driver, s.name)) ?? 0] as const));
        return owned.every(([, n]) => n > 0) && owned.reduce((a, [, n]) => a + n, 0) === driver.partitions && owned;
      }, (t.observe_s * 1000) / 2, 200);
      if (spread) {
        injection.details.rebalanced_at = clock.now();
        injection.details.assignment = Object.fromEntries(spread);
        injection.proof.push(`partitions spread over ${spread.length} routers: ${spread.map(([n, k]) => `${n}=${k}`).join(', ')}`);
      }
      injection.landed = added.length > 0 && spread !== null;
    },

    async stop() {
      // The new replicas stay until the rollback: the second throughput is measured with them.
    },

    measure({ injection, timeline, samples, faultAt, faultT, loadS }) {
      const w = t.steady_window_s;
      const t1 = routedPerSecond(samples, faultT - w, faultT);
      const t2 = routedPerSecond(samples, loadS - w, loadS);
      const rebalancedAt = injection.details.rebalanced_at;
      const series = routedSeries(samples).filter((p) => p.t > faultT);
      const delivered2 = timeline.filter((p) => p.t_s >= loadS - w && p.t_s < loadS).reduce((a, p) => a + p.delivered_per_s, 0) / w;
      return {
        numbers: {
          throughput_1: t1,
          throughput_2: t2,
          speedup: t1 && t2 ? Math.round((t2 / t1) * 100) / 100 : null,
          rebalance_seconds: typeof rebalancedAt === 'number' ? secondsBetween(faultAt, rebalancedAt) : null,
          rebalance_pause_seconds: t1 ? series.filter((p) => p.v < t1 / 2).length : null,
        },
        notes: [
          `Bottleneck: routing by construction (emulated store round trips, see the target's settings). With ${fault.replicas} routers the provider received ${Math.round(delivered2 * 10) / 10}/s over the same last window${t2 && delivered2 < t2 * 0.9 ? ': the connector side, not routing, then limited end-to-end delivery' : ''}. The scale step includes starting the new router process; the consumer group rebalances stop-the-world (every member pauses), which is the rebalance pause.`,
          `Throughput is messages routed per second (sum of the routers' messages_processed_total{status="routed"}), over the last ${w} s before the scale step (${t1}/s with ${spec.target.replicas ?? '?'} router(s)) and the last ${w} s of the load (${t2}/s with ${fault.replicas}).`,
        ],
      };
    },

    unmeasured: { throughput_1: null, throughput_2: null, speedup: null },
  };
}

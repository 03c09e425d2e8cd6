import type { ExperimentSpec, Fault } from '../experiment-spec.ts';
import { assigned } from '../router-partitions.ts';
import { BlastRadiusError, recoveryFrom, secondsBetween, type FaultModule } from './fault.ts';

type KillFault = Extract<Fault, { type: 'kill' }>;

/**
 * `kill`: SIGKILL or SIGTERM `count` instances of the target (at most `safety.max_kill_share` of
 * them), optionally started again when the fault window ends. For routers it also watches the
 * survivors take over every partition (`takeover_seconds`).
 */
export function killFault(spec: ExperimentSpec, fault: KillFault): FaultModule {
  const t = spec.timing;
  const workload = spec.target.workload;
  const env = spec.target.env;
  const hasEnv = Object.keys(env).length > 0;
  return {
    plan({ of, running, replicas }) {
      const limit = Math.round(spec.safety.max_kill_share * 100);
      const allowed = Math.floor(replicas * spec.safety.max_kill_share + 1e-9);
      if (fault.count > allowed) {
        throw new BlastRadiusError(
          `refusing to kill ${fault.count} of ${replicas} ${workload} instance(s) (${Math.round((100 * fault.count) / replicas)}%): the blast-radius limit (safety.max_kill_share) is ${limit}%, i.e. at most ${allowed}`,
        );
      }
      const pool = spec.target.replicas !== undefined ? of.slice(0, spec.target.replicas) : running;
      const targets = pool.slice(0, fault.count).map((i) => i.name);
      return {
        targets,
        steps: [
          `at ${t.warmup_s} s: SIG${fault.signal} ${targets.join(', ')} (${fault.count} of ${replicas}, limit ${limit}%)`,
          fault.restart ? `at ${t.warmup_s + t.fault_duration_s} s: start ${targets.join(', ')} again` : `${targets.join(', ')} stay down until the rollback; watch the survivors take their partitions`,
        ],
      };
    },

    async inject(run, injection) {
      const { driver } = run;
      const records = [];
      for (const name of injection.targets) records.push(await driver.kill(name, fault.signal));
      injection.details.killed = records;
      injection.proof = records.map((r) => r.proof);
      injection.landed = records.every((r) => r.gone_at !== null);
      if (workload !== 'router') return;
      const at = Date.parse(injection.at);
      const killed = new Set(injection.targets);
      const bound = t.fault_duration_s + t.observe_s;
      run.watch(
        driver
          .waitFor(async () => {
            const survivors = (await driver.listInstances('router')).filter((i) => i.state === 'running' && !killed.has(i.name));
            const owned = await Promise.all(survivors.map(async (s) => [s.name, await assigned(driver, s.name)] as const));
            return owned.reduce((a, [, n]) => a + (n ?? 0), 0) === driver.partitions && { at: run.clock.now(), owned };
          }, bound * 1000, 200)
          .then((r) => {
            if (!r) return run.step('takeover', `the survivors did not own every partition within ${bound} s`);
            injection.details.takeover_at = r.at;
            injection.details.takeover = Object.fromEntries(r.owned);
            run.step('takeover', `survivors own all ${driver.partitions} partitions after ${((r.at - at) / 1000).toFixed(2)} s: ${r.owned.map(([n, k]) => `${n}=${k}`).join(', ')}`);
          }),
      );
    },

    async stop(run, injection) {
      if (fault.restart) for (const name of injection.targets) await run.driver.start(name, hasEnv ? { env } : {});
    },

    measure(m) {
      // A kill that is not undone leaves the platform to heal from the kill itself.
      const numbers: Record<string, number | null> = { recovery_seconds: recoveryFrom(spec, m, fault.restart ? (m.stopT ?? m.faultT) : m.faultT) };
      const takeoverAt = m.injection.details.takeover_at;
      if (typeof takeoverAt === 'number') numbers.takeover_seconds = secondsBetween(m.faultAt, takeoverAt);
      else if (workload === 'router') numbers.takeover_seconds = null;
      return { numbers, notes: [] };
    },

    unmeasured: {},
  };
}

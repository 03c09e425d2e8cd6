import type { Instance } from '../driver.ts';
import type { ExperimentSpec, Fault } from '../experiment-spec.ts';
import { recoveryFrom, type FaultModule } from './fault.ts';

type BrokerOutage = Extract<Fault, { type: 'broker-outage' }>;

/**
 * `broker-outage`: the brokers leave the network for the fault window (`down`: connections
 * refused, data kept), or the dev broker is killed and started empty (`restart`: its data is
 * lost). It landed when the port refused connections, or the broker's pid changed.
 */
export function brokerOutageFault(spec: ExperimentSpec, fault: BrokerOutage): FaultModule {
  const t = spec.timing;
  return {
    plan({ instances }) {
      return {
        targets: instances.filter((i: Instance) => i.workload === 'broker').map((i) => i.name),
        steps: [
          fault.mode === 'down'
            ? `at ${t.warmup_s} s: brokers off the network (connections refused) for ${t.fault_duration_s} s, then back`
            : `at ${t.warmup_s} s: kill the dev broker (its data is lost), start it empty after ${t.fault_duration_s} s`,
        ],
      };
    },

    async inject({ driver }, injection) {
      const r = await driver.setBrokerFault(fault.mode === 'down' ? 'down' : 'restart');
      injection.details.broker = r;
      injection.proof.push(r.proof);
      injection.landed = fault.mode === 'down' ? /ECONNREFUSED/.test(r.proof) : r.old_pid !== r.new_pid && r.new_pid !== null;
    },

    async stop({ driver }, injection) {
      if (fault.mode === 'down') injection.proof.push(`up: ${(await driver.setBrokerFault('up')).proof}`);
    },

    measure(m) {
      return { numbers: { recovery_seconds: recoveryFrom(spec, m, m.stopT ?? m.faultT) }, notes: [] };
    },

    unmeasured: {},
  };
}

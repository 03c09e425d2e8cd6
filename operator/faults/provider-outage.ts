import type { TimedSample } from '../analysis.ts';
import type { PlatformDriver } from '../driver.ts';
import type { ExperimentSpec, Fault } from '../experiment-spec.ts';
import { recoveryFrom, type FaultModule } from './fault.ts';

type ProviderOutage = Extract<Fault, { type: 'provider-outage' }>;

/** The simulator's count of calls it refused for a channel (`/_sim/stats`). */
async function refusedCalls(driver: PlatformDriver, channel: string, kind: 'down' | 'error'): Promise<number> {
  const stats = await driver.providerStats();
  return ((stats?.[channel] as { faults?: { down?: number; error?: number } } | undefined)?.faults?.[kind]) ?? 0;
}

/**
 * `provider-outage`: the provider simulator answers every call 503 (`down`) or a share of them
 * with a retriable error (`errors`) for the fault window. It landed when the simulator took the
 * fault and refused calls during it. It measures the connector's breaker and backlog.
 */
export function providerOutageFault(spec: ExperimentSpec, fault: ProviderOutage): FaultModule {
  const t = spec.timing;
  const conn = `connector-${fault.channel}`;
  return {
    plan() {
      return {
        targets: [`provider ${fault.channel}`],
        steps: [`at ${t.warmup_s} s: provider ${fault.channel} ${fault.mode === 'down' ? 'down (every call 503)' : `errors at ${fault.error_rate * 100}%`} for ${t.fault_duration_s} s, then up`],
      };
    },

    async inject({ driver }, injection) {
      injection.details.refused_before = await refusedCalls(driver, fault.channel, 'down');
      const r = await driver.setProviderFault(fault.channel, fault.mode === 'down' ? { down: true } : { error_rate: fault.error_rate, error_code: 130429 });
      injection.proof.push(r.proof);
      injection.landed = r.proof.includes(fault.mode === 'down' ? '"down":true' : '"error_rate"');
    },

    async stop({ driver }, injection) {
      const refused = await refusedCalls(driver, fault.channel, fault.mode === 'down' ? 'down' : 'error');
      const during = refused - ((injection.details.refused_before as number | undefined) ?? 0);
      injection.details.calls_refused_during_fault = during;
      injection.proof.push(`the provider refused ${during} calls during the outage (/_sim/stats)`);
      injection.landed = injection.landed && during > 0;
      const r = await driver.setProviderFault(fault.channel, null);
      injection.proof.push(`cleared: ${r.proof}`);
    },

    measure(m) {
      const { samples, faultT, stopT } = m;
      const during = samples.filter((s) => s.t_s >= faultT - 0.5);
      const opensAt = (s: TimedSample | undefined) => s?.connectors[conn]?.breaker_opens ?? 0;
      const startS = [...samples].reverse().find((s) => s.t_s <= faultT);
      const opened = during.some((s) => (s.connectors[conn]?.breaker_state ?? 0) >= 1) || opensAt(during.at(-1)) > opensAt(startS);
      const waits = during.map((s) => s.connectors[conn]?.waiting).filter((w): w is number => typeof w === 'number');
      // Drained: back to the backlog the connector had in the steady state before the fault
      // (a few deliveries are always in flight or paced).
      const baseline = Math.max(0, ...samples.filter((s) => s.t_s >= faultT - t.steady_window_s - 2 && s.t_s <= faultT).map((s) => s.connectors[conn]?.waiting ?? 0));
      const drained = stopT === null ? undefined : samples.find((s) => s.t_s >= stopT && typeof s.connectors[conn]?.waiting === 'number' && s.connectors[conn]!.waiting! <= baseline);
      return {
        numbers: {
          recovery_seconds: recoveryFrom(spec, m, stopT ?? faultT),
          breaker_opened: opened ? 1 : 0,
          max_waiting: waits.length ? Math.max(...waits) : null,
          drain_seconds: drained && stopT !== null ? Math.round((drained.t_s - stopT) * 100) / 100 : null,
        },
        notes: [`Drained means connector_deliveries_waiting back to its level before the fault (${baseline}).`],
      };
    },

    unmeasured: {},
  };
}

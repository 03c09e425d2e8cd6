import type { Instance } from './driver.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import { buildFault } from './faults/build-fault.ts';

export { BlastRadiusError } from './faults/fault.ts';

/** Tries of the steady-state hypothesis before the method. */
export const STEADY_ATTEMPTS = 3;

export interface Plan {
  /** The instances the fault acts on. */
  targets: string[];
  /** What will be done, in order, in words. */
  steps: string[];
  /** Seconds of load (warm-up + fault + observation). */
  load_seconds: number;
}

/** The channel whose provider and connector an experiment looks at. */
export function channelOf(spec: ExperimentSpec): 'whatsapp' | 'instagram' {
  if (spec.fault.type === 'provider-outage') return spec.fault.channel;
  return spec.target.workload === 'connector-instagram' ? 'instagram' : 'whatsapp';
}

/**
 * The plan, from the definition and the instances the platform runs: who is hit, in what order.
 * Enforces the blast-radius limit (throws `BlastRadiusError`). Touches nothing.
 */
export function planExperiment(spec: ExperimentSpec, instances: Instance[]): Plan {
  const t = spec.timing;
  const of = instances.filter((i) => i.workload === spec.target.workload);
  const running = of.filter((i) => i.state === 'running' || i.state === 'starting');
  const replicas = spec.target.replicas ?? running.length;
  const fault = buildFault(spec).plan({ instances, of, running, replicas });
  const steps: string[] = [];
  if (Object.keys(spec.target.env).length > 0) {
    steps.push(`restart every ${spec.target.workload} instance with ${Object.entries(spec.target.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (spec.target.replicas !== undefined) steps.push(`scale ${spec.target.workload} to ${spec.target.replicas} and wait until its instances own every partition`);
  steps.push(
    `prepare ${spec.load.conversations} conversations`,
    `steady state before: ${spec.steady_state.length} probe(s) on a ${t.steady_window_s + 1} s probe load at ${spec.load.rate} msg/s (up to ${STEADY_ATTEMPTS} tries); inject nothing unless it holds`,
    `start the load: ${spec.load.rate} msg/s for ${t.warmup_s + t.fault_duration_s + t.observe_s} s`,
    ...fault.steps,
    `observe for ${t.observe_s} s after the fault; then wait up to ${spec.load.delivery_deadline_s} s for deliveries`,
    `check the steady state over the last ${t.steady_window_s} s of the load; verify ${spec.verify.length} rules`,
    'roll back (always, also on Ctrl-C): original replicas and settings, provider faults cleared, brokers up',
  );
  return { targets: fault.targets, steps, load_seconds: t.warmup_s + t.fault_duration_s + t.observe_s };
}

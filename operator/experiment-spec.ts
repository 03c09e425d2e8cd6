import { z } from 'zod';

/**
 * An experiment as data: the `spec` of the future Experiment custom resource, and what
 * `operator/experiments/*.yaml` hold. One schema for the engine, the CLI and the CRD.
 */

/** The workloads an experiment can aim at (the local driver's process roles; Deployments in Kubernetes). */
export const WORKLOADS = ['router', 'connector-whatsapp', 'connector-instagram', 'api', 'broker', 'provider-sim'] as const;
export type Workload = (typeof WORKLOADS)[number];

const seconds = (def: number, what: string) => z.number().min(0).max(3600).default(def).describe(what);

const killFault = z.object({
  type: z.literal('kill'),
  /** KILL is `kill -9`: no goodbye to the consumer group; TERM is a graceful stop. */
  signal: z.enum(['KILL', 'TERM']).default('KILL'),
  /** How many instances of the target workload to kill (the blast-radius limit applies). */
  count: z.int().min(1).default(1),
  /** Start the killed instances again when the fault window ends; otherwise they stay down until the rollback. */
  restart: z.boolean().default(false),
});

const scaleFault = z.object({
  type: z.literal('scale'),
  /** Replicas after the scale step (the target's `replicas` is the count before). */
  replicas: z.int().min(1).max(64),
});

const providerFault = z.object({
  type: z.literal('provider-outage'),
  channel: z.enum(['whatsapp', 'instagram']).default('whatsapp'),
  /** `down`: every call answers 503; `errors`: a share of calls answers a retriable error. */
  mode: z.enum(['down', 'errors']).default('down'),
  error_rate: z.number().min(0).max(1).default(0.5),
});

const brokerFault = z.object({
  type: z.literal('broker-outage'),
  /** `down`: connections refused, data kept; `restart`: the dev broker is killed and started empty (its data is gone). */
  mode: z.enum(['down', 'restart']).default('down'),
});

export const faultSchema = z.discriminatedUnion('type', [killFault, scaleFault, providerFault, brokerFault]);

export const PROBE_KINDS = ['delivery_rate', 'e2e_p99_ms', 'lag', 'http_error_ratio'] as const;

/**
 * A steady-state probe: a number observed over a window, with its tolerance.
 * - `delivery_rate`: delivered/s within `tolerance_percent` of offered/s;
 * - `e2e_p99_ms`: the worst per-second accept → delivered p99 at most `max`;
 * - `lag`: records the routers' consumer group has not consumed (summed over partitions) at most `max`;
 * - `http_error_ratio`: share of requests not answered 202 at most `max`.
 */
export const probeSchema = z
  .object({
    name: z.string().min(1).max(80).optional(),
    kind: z.enum(PROBE_KINDS),
    tolerance_percent: z.number().min(0).max(100).optional(),
    max: z.number().min(0).optional(),
  })
  .refine((p) => (p.kind === 'delivery_rate' ? p.tolerance_percent !== undefined : p.max !== undefined), {
    message: 'delivery_rate needs tolerance_percent; the other probes need max',
  });

/** The named numbers an experiment measures; verification rules compare them with bounds. */
export const VERIFICATION_METRICS = [
  'accepted',
  'lost',
  'duplicates',
  'out_of_order',
  'failed_requests',
  'unexpected_answers',
  'recovery_seconds',
  'takeover_seconds',
  'breaker_opened',
  'max_waiting',
  'drain_seconds',
  'throughput_1',
  'throughput_2',
  'speedup',
  'rebalance_seconds',
  'rebalance_pause_seconds',
] as const;
export type VerificationMetric = (typeof VERIFICATION_METRICS)[number];

export const ruleSchema = z
  .object({
    name: z.string().min(1).max(80).optional(),
    metric: z.enum(VERIFICATION_METRICS),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'a rule needs min or max' });

export const experimentSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and dashes'),
    description: z.string().max(2000).default(''),
    target: z.object({
      workload: z.enum(WORKLOADS),
      /** Instances of the workload the experiment starts from (scaled to this before the steady state). */
      replicas: z.int().min(1).max(64).optional(),
      /** Settings for the target's instances during the experiment (restarted with them; restored by the rollback). */
      env: z.record(z.string(), z.string()).default({}),
    }),
    fault: faultSchema,
    timing: z
      .object({
        warmup_s: seconds(5, 'steady load before the fault is injected'),
        fault_duration_s: seconds(10, 'how long the fault is held before it is stopped'),
        observe_s: seconds(15, 'load after the fault is stopped, to see the recovery'),
        steady_window_s: seconds(3, 'the window each steady-state probe looks at'),
        recovery_hold_s: seconds(5, 'recovered = the delivered rate back within tolerance for this long'),
      })
      .prefault({}),
    load: z.object({
      /** Messages per second (an open model: arrivals do not wait for answers). */
      rate: z.number().positive().max(100000),
      conversations: z.int().min(1).max(100000).default(50),
      /** After the last send, how long to wait for deliveries before a message counts as lost. */
      delivery_deadline_s: z.number().positive().max(3600).default(30),
      /** HTTP statuses that are an acceptable answer during the experiment (others count as `unexpected_answers`). */
      expected_statuses: z.array(z.string().regex(/^(\d{3}|network)$/)).default(['202']),
    }),
    steady_state: z.array(probeSchema).default([]),
    verify: z.array(ruleSchema).min(1),
    rollback: z
      .object({
        /** Restore the replicas every workload had before the run. */
        restore_replicas: z.boolean().default(true),
        /** Clear every provider fault. */
        provider_up: z.boolean().default(true),
        /** Bring the brokers back on the network (and start one that is not running). */
        broker_up: z.boolean().default(true),
        /** Restart the target's instances without the experiment's settings. */
        restore_env: z.boolean().default(true),
      })
      .prefault({}),
    safety: z
      .object({
        /** The largest share of a workload's running instances one experiment may kill. */
        max_kill_share: z.number().gt(0).max(1).default(0.5),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.fault.type === 'scale' && s.target.workload !== 'router') {
      ctx.addIssue({ code: 'custom', path: ['fault'], message: 'only routers scale' });
    }
    if (s.fault.type === 'kill' && s.target.workload === 'provider-sim') {
      ctx.addIssue({ code: 'custom', path: ['fault'], message: 'use a provider-outage fault for the provider' });
    }
  });

export type ExperimentSpec = z.output<typeof experimentSpecSchema>;
export type ExperimentSpecInput = z.input<typeof experimentSpecSchema>;
export type Fault = z.output<typeof faultSchema>;
export type Probe = z.output<typeof probeSchema>;
export type Rule = z.output<typeof ruleSchema>;

/** The name a probe shows in reports. */
export function probeName(p: Probe): string {
  if (p.name) return p.name;
  switch (p.kind) {
    case 'delivery_rate':
      return `delivered/s within ${p.tolerance_percent}% of offered/s`;
    case 'e2e_p99_ms':
      return `e2e p99 under ${p.max} ms`;
    case 'lag':
      return `consumer lag at most ${p.max}`;
    case 'http_error_ratio':
      return `HTTP errors at most ${(p.max ?? 0) * 100}%`;
  }
}

/** The name a verification rule shows in reports. */
export function ruleName(r: Rule): string {
  if (r.name) return r.name;
  const parts = [r.min !== undefined ? `${r.metric} >= ${r.min}` : '', r.max !== undefined ? `${r.metric} <= ${r.max}` : ''];
  return parts.filter(Boolean).join(' and ');
}

/** Validates a definition; the error lists every problem with its path. */
export function parseExperimentSpec(input: unknown, source = 'experiment'): ExperimentSpec {
  const r = experimentSpecSchema.safeParse(input);
  if (!r.success) {
    throw new Error(`${source} is not a valid experiment:\n${r.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  }
  return r.data;
}

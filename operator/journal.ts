import type { ExperimentSpec } from './experiment-spec.ts';
import type { Sample } from './sampler.ts';
import type { TimelinePoint } from '../loadtest/generator.ts';

export type Verdict = 'Pass' | 'Fail' | 'Inconclusive';

export interface ProbeResult {
  name: string;
  kind: string;
  /** What the probe tolerates, in words and numbers. */
  tolerance: string;
  observed: number | null;
  /** How the observed value was obtained (window, source). */
  source: string;
  ok: boolean;
}

export interface RuleResult {
  name: string;
  metric: string;
  min?: number;
  max?: number;
  observed: number | null;
  ok: boolean;
  message: string;
}

export interface MethodStep {
  at: string;
  /** Seconds since the load started (negative: before it). */
  t_s: number;
  step: string;
  detail?: string;
}

/** What was actually done to the platform, with the proof that it landed. */
export interface Injection {
  type: string;
  at: string;
  t_s: number;
  /** When the fault was stopped (the window the reports shade). */
  stopped_at: string | null;
  stopped_t_s: number | null;
  targets: string[];
  landed: boolean;
  proof: string[];
  /** e.g. killed pid, survivor, takeover time; new router pid, rebalance time. */
  details: Record<string, unknown>;
}

/** Everything one run produced: what `journal.json` holds. */
export interface Journal {
  experiment: ExperimentSpec;
  run_id: string;
  platform: string;
  started_at: string;
  ended_at: string;
  verdict: Verdict;
  /** Why the verdict is what it is, in one line. */
  reason: string;
  plan: string[];
  steady_state_before: { ok: boolean; probes: ProbeResult[]; window_s: [number, number] | null };
  /** The same probes over the main load's last window before the fault (for the reader; the verdict uses the check above). */
  baseline_before_fault: { ok: boolean; probes: ProbeResult[]; window_s: [number, number] | null };
  steady_state_after: { ok: boolean; probes: ProbeResult[]; window_s: [number, number] | null };
  method: MethodStep[];
  injection: Injection | null;
  /** Named numbers; tools read `accepted`, `lost`, `duplicates`, `recovery_seconds` (and for scale-routers `throughput_1`, `throughput_2`, `speedup`). */
  verification: { [metric: string]: number | null | RuleResult[] } & { rules: RuleResult[] };
  rollback: { ok: boolean; steps: MethodStep[]; errors: string[] };
  load: {
    offered: number;
    accepted: number;
    failed: number;
    delivered: number;
    lost: number;
    duplicates: number;
    out_of_order: number;
    answers: Record<string, number>;
    http_ms: Record<string, number>;
    e2e_ms: Record<string, number>;
    lost_sample: { message_id: string; text: string }[];
    started_at: string | null;
  } | null;
  /** Notes for the reader: bottlenecks, emulations, anything the numbers need. */
  notes: string[];
  error: string | null;
  interrupted: boolean;
  /** The time series: per-second load timeline and the sampled metrics. */
  series: { timeline: TimelinePoint[]; samples: (Omit<Sample, 'at'> & { at: number; t_s: number })[] };
}

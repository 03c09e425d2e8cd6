/**
 * The named load profiles. The earlier Java profiles counted virtual users; here a user is one
 * conversation sending one message per second, so N users become an arrival rate of N msg/s
 * (open model: the arrivals keep coming whether or not the server keeps up).
 */

/** Pass/fail bounds of a run; an absent bound is not checked. */
export interface Thresholds {
  /** HTTP latency of POST /v1/messages. */
  http_p95_ms?: number;
  http_p99_ms?: number;
  /** Accept → delivered at the provider. */
  e2e_p99_ms?: number;
  /** (failed + dropped by the client) ÷ offered, 0..1. */
  max_error_rate?: number;
  max_lost: number;
  max_duplicates?: number;
  max_out_of_order?: number;
}

/** One stage: the rate moves linearly to `rate` over `duration_s` (equal rates: a plateau). */
export interface Stage {
  duration_s: number;
  rate: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Rate at t = 0, msg/s. */
  start_rate: number;
  stages: Stage[];
  /** Conversations the load is spread over (round-robin). */
  conversations: number;
  thresholds: Thresholds;
  /** How long after the last send a message may take before it counts as lost. */
  delivery_deadline_ms: number;
}

/** The earlier profile's bounds: p95 < 200 ms, p99 < 500 ms, errors < 0.5 %; plus nothing lost, duplicated or reordered. */
const BASELINE_THRESHOLDS: Thresholds = {
  http_p95_ms: 200,
  http_p99_ms: 500,
  e2e_p99_ms: 1000,
  max_error_rate: 0.005,
  max_lost: 0,
  max_duplicates: 0,
  max_out_of_order: 0,
};

export const SCENARIOS: Record<string, Scenario> = {
  warmup: {
    name: 'warmup',
    description: '5 users for 2 min (5 msg/s)',
    start_rate: 5,
    stages: [{ duration_s: 120, rate: 5 }],
    conversations: 5,
    thresholds: BASELINE_THRESHOLDS,
    delivery_deadline_ms: 30_000,
  },
  baseline: {
    name: 'baseline',
    description: '20 users for 5 min (20 msg/s); p95 < 200 ms, p99 < 500 ms, errors < 0.5 %',
    start_rate: 20,
    stages: [{ duration_s: 300, rate: 20 }],
    conversations: 20,
    thresholds: BASELINE_THRESHOLDS,
    delivery_deadline_ms: 30_000,
  },
  spike: {
    name: 'spike',
    description: '5 → 50 → 5 users: 60 s at 5 msg/s, 10 s up to 50, 60 s at 50, 10 s down, 60 s at 5',
    start_rate: 5,
    stages: [
      { duration_s: 60, rate: 5 },
      { duration_s: 10, rate: 50 },
      { duration_s: 60, rate: 50 },
      { duration_s: 10, rate: 5 },
      { duration_s: 60, rate: 5 },
    ],
    conversations: 50,
    thresholds: { ...BASELINE_THRESHOLDS, http_p95_ms: 500, http_p99_ms: 1000, e2e_p99_ms: 3000, max_error_rate: 0.01 },
    delivery_deadline_ms: 30_000,
  },
  soak: {
    name: 'soak',
    description: '50 msg/s for 30 min: leaks and slow drifts show in the timeline',
    start_rate: 50,
    stages: [{ duration_s: 1800, rate: 50 }],
    conversations: 50,
    thresholds: BASELINE_THRESHOLDS,
    delivery_deadline_ms: 60_000,
  },
  steady: {
    name: 'steady',
    description: 'a fixed arrival rate for 1 min (100 msg/s unless --rate)',
    start_rate: 100,
    stages: [{ duration_s: 60, rate: 100 }],
    conversations: 100,
    thresholds: { ...BASELINE_THRESHOLDS, http_p95_ms: 500, http_p99_ms: 1000, e2e_p99_ms: 2000, max_error_rate: 0.01 },
    delivery_deadline_ms: 30_000,
  },
};

/** Not here: `file-upload` (10 users, 100 KB–1 MB files, p95 < 2 s) waits for the file API. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS);

export interface PlanOverrides {
  /** The scenario's starting rate becomes this; every stage scales by the same factor (a spike keeps its shape). */
  rate?: number;
  /** Total duration in seconds; every stage scales by the same factor. */
  duration_s?: number;
  conversations?: number;
  delivery_deadline_ms?: number;
}

/** A scenario scaled by the overrides, ready for `runOpenLoad`. */
export interface Plan {
  scenario: string;
  description: string;
  start_rate: number;
  stages: Stage[];
  duration_ms: number;
  peak_rate: number;
  conversations: number;
  delivery_deadline_ms: number;
  thresholds: Thresholds;
  /** Arrival rate at `elapsedMs`, msg/s. */
  rate(elapsedMs: number): number;
}

export class UnknownScenarioError extends Error {
  constructor(name: string) {
    super(`unknown scenario "${name}"; known: ${SCENARIO_NAMES.join(', ')} (file-upload waits for the file API)`);
    this.name = 'UnknownScenarioError';
  }
}

export function planScenario(name: string, overrides: PlanOverrides = {}): Plan {
  const s = Object.hasOwn(SCENARIOS, name) ? SCENARIOS[name] : undefined;
  if (!s) throw new UnknownScenarioError(name);
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new Error(`${k} must be a positive number, got ${v}`);
  }
  const rateFactor = overrides.rate !== undefined ? overrides.rate / s.start_rate : 1;
  const total = s.stages.reduce((a, st) => a + st.duration_s, 0);
  const timeFactor = overrides.duration_s !== undefined ? overrides.duration_s / total : 1;
  const stages = s.stages.map((st) => ({ duration_s: st.duration_s * timeFactor, rate: st.rate * rateFactor }));
  const startRate = s.start_rate * rateFactor;
  const peak = Math.max(startRate, ...stages.map((st) => st.rate));
  // One user, one conversation; past 200 the set-up takes longer than it tells us anything.
  const conversations = overrides.conversations ?? Math.min(200, Math.max(s.conversations, Math.ceil(peak)));
  return {
    scenario: s.name,
    description: s.description,
    start_rate: startRate,
    stages,
    duration_ms: Math.round(total * timeFactor * 1000),
    peak_rate: peak,
    conversations: Math.round(conversations),
    delivery_deadline_ms: overrides.delivery_deadline_ms ?? s.delivery_deadline_ms,
    thresholds: s.thresholds,
    rate: stagedRate(startRate, stages),
  };
}

/** A piecewise-linear rate: from `start`, each stage moves linearly to its rate. */
export function stagedRate(start: number, stages: Stage[]): (elapsedMs: number) => number {
  return (elapsedMs) => {
    let from = start;
    let t = elapsedMs / 1000;
    for (const st of stages) {
      if (t < st.duration_s) return from + ((st.rate - from) * t) / st.duration_s;
      t -= st.duration_s;
      from = st.rate;
    }
    return from;
  };
}

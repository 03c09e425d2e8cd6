/** The settings of `make bench` (full and `--smoke`), the goal of issue #12 and the shape of one run. */
import type { LagVerdict } from './lag-sampler.ts';

export interface Settings {
  smoke: boolean;
  conversations: number;
  routers: number;
  partitions: number;
  /** Same sockets and in-flight cap for the bare server and for Chat4All. */
  connections: number;
  maxInFlight: number;
  httpLimitMs: number;
  busMessages: number;
  warmupMs: number;
  /** Rates tried in order until one is not sustained; then bisection between it and the last sustained one. */
  stepRates: number[];
  /** At most this many bisection steps (each `stepMs`). */
  bisectSteps: number;
  stepMs: number;
  /** The long runs at the max sustained step rate: each this long, with flat consumer lag… */
  sustainMs: number;
  /** …this many times (min/median/max reported). */
  sustainRepeats: number;
  /** The API at saturation (offered far above what it takes), for its accepted/s against bare node:http. */
  saturationMs: number;
  /** Search the max sustained rate again with one router (after the two-router runs). */
  oneRouter: boolean;
  fixedRates: number[];
  fixedMs: number;
  deadlineMs: number;
  /** A step whose e2e p99 exceeds this is not sustained. */
  e2eP99BoundMs: number;
}

export const FULL: Settings = {
  smoke: false,
  conversations: 200,
  routers: 2,
  partitions: 12,
  connections: 64,
  maxInFlight: 2000,
  httpLimitMs: 5000,
  busMessages: 100_000,
  warmupMs: 5000,
  stepRates: [50, 100, 200, 400, 800, 1600, 3200],
  bisectSteps: 3,
  stepMs: 10_000,
  sustainMs: 60_000,
  sustainRepeats: 3,
  saturationMs: 8000,
  oneRouter: true,
  fixedRates: [],
  fixedMs: 10_000,
  // An overloaded run drains before "lost" is counted: lost means never delivered, not late.
  deadlineMs: 60_000,
  e2eP99BoundMs: 2000,
};

export const SMOKE: Settings = {
  ...FULL,
  smoke: true,
  conversations: 10,
  httpLimitMs: 1000,
  busMessages: 5000,
  warmupMs: 1000,
  stepRates: [20, 40],
  bisectSteps: 1,
  stepMs: 2000,
  sustainMs: 3000,
  sustainRepeats: 1,
  saturationMs: 1000,
  oneRouter: false,
  fixedRates: [],
  fixedMs: 2000,
  deadlineMs: 5000,
};

/** The goal of issue #12: this rate sustained with this accept→delivered p99. */
export const GOAL = { rate: 1667, e2e_p99_ms: 250 };

/** One Chat4All run at a fixed offered rate. */
export interface RateRun {
  offered_rate: number;
  accepted_per_s: number;
  /** Messages whose DELIVERED is in the store, per second. */
  delivered_per_s: number;
  /** Accept (the 202's accepted_at) → DELIVERED stored. */
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  http_p99_ms: number;
  lost: number;
  duplicates: number;
  out_of_order: number;
  failed: number;
  dropped_by_client: number;
  duration_s: number;
  sustained: boolean;
  /** Why not sustained, when it is not. */
  reason: string | null;
  /** % of one core per process during the run. */
  cpu_percent: Record<string, number | null>;
  /** p99 event-loop delay per Node process during the run (prom-client's, reset by each scrape), ms. */
  eventloop_p99_ms: Record<string, number | null>;
  /** The long runs only: consumer lag over the run. */
  lag?: LagVerdict;
}

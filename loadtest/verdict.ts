import type { LoadResult } from './generator.ts';
import type { Thresholds } from './scenarios.ts';

/** One bound checked against a run. */
export interface Check {
  name: string;
  /** e.g. "< 200 ms", "= 0". */
  limit: string;
  actual: number;
  pass: boolean;
}

export interface Verdict {
  /** `error`: the run itself failed, so nothing can be said about the thresholds. */
  status: 'passed' | 'failed' | 'error';
  checks: Check[];
  error?: string;
}

/** (failed + dropped by the client) ÷ offered. */
export function errorRate(r: Pick<LoadResult, 'offered' | 'failed' | 'dropped_by_client'>): number {
  return r.offered === 0 ? 0 : (r.failed + r.dropped_by_client) / r.offered;
}

/**
 * Checks a run against its thresholds. A run that accepted nothing never passes (an empty run
 * meets every latency bound), and neither does one the generator gave up on.
 */
export function judge(result: LoadResult, t: Thresholds): Verdict {
  const checks: Check[] = [];
  const below = (name: string, actual: number, bound: number | undefined, unit = ' ms') => {
    if (bound !== undefined) checks.push({ name, limit: `< ${bound}${unit}`, actual, pass: actual < bound });
  };
  const atMost = (name: string, actual: number, bound: number | undefined) => {
    if (bound !== undefined) checks.push({ name, limit: bound === 0 ? '= 0' : `<= ${bound}`, actual, pass: actual <= bound });
  };
  checks.push({ name: 'accepted', limit: '> 0', actual: result.accepted, pass: result.accepted > 0 });
  below('http p95', result.http_ms.p95, t.http_p95_ms);
  below('http p99', result.http_ms.p99, t.http_p99_ms);
  below('e2e p99', result.e2e_ms.p99, t.e2e_p99_ms);
  if (t.max_error_rate !== undefined) {
    const rate = errorRate(result);
    checks.push({ name: 'error rate', limit: `< ${t.max_error_rate * 100} %`, actual: Math.round(rate * 1e6) / 1e4, pass: rate < t.max_error_rate });
  }
  atMost('lost', result.lost, t.max_lost);
  atMost('duplicates', result.duplicates, t.max_duplicates);
  atMost('out of order', result.out_of_order, t.max_out_of_order);
  if (result.aborted) return { status: 'error', checks, error: 'the run was interrupted before its end' };
  if (result.poll_errors > 0 && result.delivered === 0 && result.accepted > 0) {
    return { status: 'error', checks, error: `the provider simulator could not be read (${result.poll_errors} failed polls): deliveries unknown` };
  }
  return { status: checks.every((c) => c.pass) ? 'passed' : 'failed', checks };
}

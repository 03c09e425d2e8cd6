import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SCENARIOS, planScenario, stagedRate, UnknownScenarioError } from './scenarios.ts';
import { judge } from './verdict.ts';
import type { LoadResult } from './generator.ts';

describe('scenarios', () => {
  test('the earlier profiles map users to msg/s: warmup 5/s for 2 min, baseline 20/s for 5 min with its bounds', () => {
    const w = planScenario('warmup');
    assert.equal(w.rate(0), 5);
    assert.equal(w.duration_ms, 120_000);
    const b = planScenario('baseline');
    assert.equal(b.rate(299_000), 20);
    assert.equal(b.duration_ms, 300_000);
    assert.deepEqual([b.thresholds.http_p95_ms, b.thresholds.http_p99_ms, b.thresholds.max_error_rate, b.thresholds.max_lost], [200, 500, 0.005, 0]);
  });

  test('spike goes 5 → 50 → 5, and --rate/--duration scale it without changing its shape', () => {
    const s = planScenario('spike');
    assert.equal(s.rate(30_000), 5);
    assert.equal(s.rate(65_000), 27.5, 'half-way up the ramp');
    assert.equal(s.rate(100_000), 50);
    assert.equal(s.rate(190_000), 5);
    const scaled = planScenario('spike', { rate: 2, duration_s: 20 });
    assert.equal(scaled.duration_ms, 20_000);
    assert.equal(scaled.peak_rate, 20);
    assert.equal(scaled.rate(1000), 2);
    assert.equal(scaled.rate(10_000), 20);
    assert.equal(scaled.rate(19_900), 2);
  });

  test('conversations follow the peak users, within 200', () => {
    assert.equal(planScenario('spike').conversations, 50);
    assert.equal(planScenario('steady', { rate: 5000 }).conversations, 200);
    assert.equal(planScenario('warmup', { conversations: 7 }).conversations, 7);
  });

  test('an unknown scenario names the known ones; file-upload is a command of its own, not a message scenario', () => {
    assert.throws(() => planScenario('file-upload'), UnknownScenarioError);
    assert.throws(() => planScenario('toString'), UnknownScenarioError);
    assert.ok(!('file-upload' in SCENARIOS));
    assert.throws(() => planScenario('warmup', { rate: -1 }), /rate must be a positive number/);
  });

  test('a staged rate holds its last value after the stages', () => {
    const r = stagedRate(1, [{ duration_s: 1, rate: 3 }]);
    assert.equal(r(500), 2);
    assert.equal(r(5000), 3);
  });
});

describe('verdict', () => {
  const result = (patch: Partial<LoadResult>): LoadResult => ({
    offered: 100, accepted: 100, failed: 0, dropped_by_client: 0, delivered: 100, lost: 0, duplicates: 0, out_of_order: 0,
    answers: { 202: 100 }, http_ms: { p50: 5, p95: 10, p99: 20, max: 30 }, e2e_ms: { p50: 50, p95: 80, p99: 90, max: 100 },
    accepted_per_s: 10, delivered_per_s: 10, timeline: [], accepted_ids: [], started_at: '', ended_at: '', run_id: 'x',
    duration_ms: 10_000, offered_rate: 10, delivered_not_accepted: 0, lost_sample: [], max_schedule_lag_ms: 0, poll_errors: 0,
    aborted: false, connections: 1, max_in_flight: 1, ...patch,
  });
  const t = SCENARIOS.baseline!.thresholds;

  test('passes within every bound', () => assert.equal(judge(result({}), t).status, 'passed'));
  test('one lost message fails', () => {
    const v = judge(result({ lost: 1, delivered: 99 }), t);
    assert.equal(v.status, 'failed');
    assert.deepEqual(v.checks.filter((c) => !c.pass).map((c) => c.name), ['lost']);
  });
  test('p95 at the bound fails; errors count dropped arrivals too', () => {
    assert.equal(judge(result({ http_ms: { p50: 5, p95: 200, p99: 300, max: 400 } }), t).status, 'failed');
    const v = judge(result({ failed: 0, dropped_by_client: 1, accepted: 99, delivered: 99 }), t);
    assert.equal(v.checks.find((c) => c.name === 'error rate')!.actual, 1);
    assert.equal(v.status, 'failed');
  });
  test('an empty run never passes, an interrupted one has no verdict', () => {
    assert.equal(judge(result({ offered: 0, accepted: 0, delivered: 0 }), t).status, 'failed');
    assert.equal(judge(result({ aborted: true }), t).status, 'error');
  });
});

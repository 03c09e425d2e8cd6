import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findExperiment } from './catalog.ts';
import { runExperiment, type EngineEvent, type RunOptions } from './engine.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import { buildFault } from './faults/build-fault.ts';
import type { Journal } from './journal.ts';
import type { Sample } from './sampler.ts';
import { FakeClock, FakeDriver, FakeLoad, fakeSampler } from './testing/fake-driver.ts';

/** One run on fakes; the real time it took is returned with the journal. */
async function run(spec: ExperimentSpec, setup: (f: { driver: FakeDriver; load: FakeLoad; clock: FakeClock }) => void = () => {}, options: RunOptions & { shape?: (t: number) => Partial<Sample> } = {}) {
  const clock = new FakeClock();
  const driver = new FakeDriver(clock);
  const load = new FakeLoad(clock);
  setup({ driver, load, clock });
  const events: EngineEvent[] = [];
  const began = performance.now();
  const journal = await runExperiment(spec, driver, {
    ...options,
    onEvent: (e) => {
      events.push(e);
      options.onEvent?.(e);
    },
    deps: { clock, load, sampler: fakeSampler(clock, options.shape) },
  });
  return { journal, driver, load, clock, events, realMs: performance.now() - began };
}

const steps = (j: Journal) => j.method.map((m) => m.step);
/** `steps` contains `expected` in this order (other steps may come between). */
function assertInOrder(actual: string[], expected: string[]) {
  let i = 0;
  for (const s of actual) if (s === expected[i]) i++;
  assert.equal(i, expected.length, `expected ${expected.join(' → ')} in order, got ${actual.join(' → ')}`);
}

describe('buildFault: one module per fault type', () => {
  it('chooses the module of the spec’s fault, and each plans its own targets and steps', async () => {
    const all = await new FakeDriver(new FakeClock()).listInstances();
    const routers = all.filter((i) => i.workload === 'router');
    const input = { instances: all, of: routers, running: routers, replicas: 2 };
    assert.deepEqual(buildFault(findExperiment('router-failover')).plan(input).targets, ['router-1']);
    assert.deepEqual(buildFault(findExperiment('scale-routers')).plan(input).targets, ['router']);
    assert.deepEqual(buildFault(findExperiment('connector-outage')).plan(input).targets, ['provider whatsapp']);
    assert.deepEqual(buildFault(findExperiment('broker-outage')).plan(input).targets, ['broker']);
    assert.match(buildFault(findExperiment('broker-restart')).plan(input).steps[0]!, /kill the dev broker \(its data is lost\)/);
  });
});

describe('the engine’s phases on a fake driver and a fake clock', () => {
  it('router-failover: prepare → steady state → method → rollback → verify, Pass, on fake time only', async () => {
    const spec = findExperiment('router-failover');
    const { journal, driver, clock, realMs } = await run(spec, () => {}, { shape: () => ({ lag_sum: 3 }) });
    assert.equal(journal.verdict, 'Pass', journal.reason);
    assertInOrder(steps(journal), ['prepare', 'ready', 'prepare', 'steady state before', 'load started', 'fault injected', 'fault stopped', 'load finished']);
    assert.ok(steps(journal).includes('takeover'), 'the survivors were watched');
    // The fault lands warmup_s into the load, on the fake clock; the whole load ran on it.
    assert.equal(journal.injection!.t_s, spec.timing.warmup_s);
    assert.ok(clock.elapsed >= (spec.timing.warmup_s + spec.timing.fault_duration_s + spec.timing.observe_s) * 1000);
    assert.ok(realMs < 5000, `no real sleeps (${Math.round(realMs)} ms)`);
    assert.deepEqual(journal.injection!.targets, ['router-1']);
    assert.equal(journal.verification.takeover_seconds, 0);
    assert.equal(journal.verification.recovery_seconds, 0);
    assert.equal(journal.verification.lost, 0);
    // Prepared to the target's replicas, killed one router, and the rollback put two back.
    assert.deepEqual(driver.calls, [
      'scale router 2',
      'kill router-1 KILL',
      'provider whatsapp null',
      'provider instagram null',
      'broker up',
      'scale router 2',
    ]);
    assert.deepEqual(journal.rollback.steps.map((s) => s.step), ['provider whatsapp faults cleared', 'provider instagram faults cleared', 'brokers up', 'router replicas restored to 2']);
    assert.equal(journal.rollback.ok, true);
  });

  it('a lost message fails verification: Fail on the lost rule', async () => {
    const { journal } = await run(findExperiment('router-failover'), ({ load }) => (load.lost = 3), { shape: () => ({ lag_sum: 3 }) });
    assert.equal(journal.verdict, 'Fail');
    assert.equal(journal.reason, 'lost <= 0: lost = 3, above the maximum 0');
  });

  it('steady state before never holds: three probe loads, nothing injected, Inconclusive, still rolled back', async () => {
    const { journal, driver, load } = await run(findExperiment('router-failover'), ({ load }) => (load.probeDelivered = 0));
    assert.equal(journal.verdict, 'Inconclusive');
    assert.match(journal.reason, /steady state did not hold before the fault/);
    assert.equal(load.runs.length, 3, 'three tries, no main load');
    assert.equal(steps(journal).filter((s) => s === 'steady state before').length, 3);
    assert.ok(steps(journal).includes('method skipped'));
    assert.equal(journal.injection, null);
    assert.ok(!driver.calls.some((c) => c.startsWith('kill')), 'nothing killed');
    assert.equal(journal.rollback.steps.length, 4);
  });

  it('connector-outage: the provider module proves the outage by the refused calls and measures breaker and drain', async () => {
    const spec = findExperiment('connector-outage');
    const { warmup_s: w, fault_duration_s: d } = spec.timing;
    const shape = (t: number): Partial<Sample> => {
      const down = t >= w && t < w + d;
      return { connectors: { 'connector-whatsapp': { breaker_state: down ? 2 : 0, breaker_opens: t >= w ? 1 : 0, waiting: down ? (t - w + 1) * 30 : t < w ? 2 : t === w + d ? 100 : 1, sent_ok: null } } };
    };
    const { journal, driver } = await run(spec, () => {}, { shape });
    assert.equal(journal.verdict, 'Pass', journal.reason);
    assert.equal(journal.injection!.details.calls_refused_during_fault, 5);
    assert.match(journal.injection!.proof.join(' | '), /"down":true.*refused 5 calls.*cleared/);
    assert.equal(journal.verification.breaker_opened, 1);
    assert.equal(journal.verification.max_waiting, d * 30);
    assert.equal(journal.verification.drain_seconds, 1);
    assert.deepEqual(driver.calls.slice(0, 2), ['provider whatsapp {"down":true}', 'provider whatsapp null']);
    assert.ok(journal.notes.some((n) => /Drained means/.test(n)));
  });

  it('an outage the provider never refused a call in is not proof: Inconclusive', async () => {
    const { journal } = await run(findExperiment('connector-outage'), ({ driver }) => (driver.refusalsPerOutage = 0));
    assert.equal(journal.verdict, 'Inconclusive');
    assert.equal(journal.reason, 'no proof that the fault landed');
  });

  it('scale-routers: settings applied and restored, routed/s before and after the scale step, speedup', async () => {
    const spec = findExperiment('scale-routers');
    const w = spec.timing.warmup_s;
    // router-1 routes 20/s throughout; router-2 starts at the scale step and routes 20/s too.
    const shape = (t: number): Partial<Sample> => ({
      routers: { 'router-1': { assigned: null, routed: 20 * t, rebalances: null }, ...(t > w ? { 'router-2': { assigned: null, routed: 20 * (t - w), rebalances: null } } : {}) },
    });
    const { journal, driver } = await run(spec, () => {}, { shape });
    assert.equal(journal.verdict, 'Pass', journal.reason);
    assert.equal(journal.verification.throughput_1, 20);
    assert.equal(journal.verification.throughput_2, 40);
    assert.equal(journal.verification.speedup, 2);
    assert.equal(journal.verification.rebalance_seconds, 0);
    assert.equal(journal.verification.recovery_seconds, null, 'a scale step has no recovery');
    const env = JSON.stringify(spec.target.env);
    assert.deepEqual(driver.calls.slice(0, 6), ['kill router-1 TERM', `start router-1 ${env}`, 'kill router-2 TERM', `start router-2 ${env}`, `scale router 1 ${env}`, `scale router 2 ${env}`]);
    assert.ok(driver.calls.at(-1)!.startsWith('scale router 2 {"ROUTER_EMULATED_STORE_LATENCY_MS":""'), `settings restored: ${driver.calls.at(-1)}`);
    assert.ok(journal.notes.some((n) => /ran with ROUTER_EMULATED_STORE_LATENCY_MS=100/.test(n)));
  });

  it('a scale run that never injected still reports its throughput numbers, null', async () => {
    const { journal } = await run(findExperiment('scale-routers'), ({ load }) => (load.probeDelivered = 0));
    assert.deepEqual([journal.verification.throughput_1, journal.verification.throughput_2, journal.verification.speedup], [null, null, null]);
  });

  it('interrupted in the fault window: no waiting out the window, Inconclusive, rolled back', async () => {
    const abort = new AbortController();
    const { journal, driver, realMs } = await run(findExperiment('connector-outage'), () => {}, {
      signal: abort.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.message.startsWith('fault injected')) abort.abort();
      },
    });
    assert.equal(journal.interrupted, true);
    assert.equal(journal.verdict, 'Inconclusive');
    assert.equal(journal.reason, 'interrupted before the end; the platform was rolled back');
    assertInOrder(steps(journal), ['fault injected', 'interrupted']);
    assert.equal(journal.injection?.landed, true);
    assert.equal(journal.injection?.stopped_at, null, 'the fault was not stopped by the method');
    assert.ok(driver.calls.includes('provider whatsapp null'), 'the rollback cleared the provider fault');
    assert.ok(realMs < 5000);
  });

  it('a failing step is the run’s error: Inconclusive with the message; set-up retries are noted', async () => {
    const { journal } = await run(findExperiment('router-failover'), ({ driver, load }) => {
      driver.failNext.add('kill');
      load.prepareFailures = 1;
    });
    assert.equal(journal.verdict, 'Inconclusive');
    assert.equal(journal.reason, 'the run failed: kill failed (fake)');
    assert.equal(journal.error, 'kill failed (fake)');
    assert.match(journal.notes[0]!, /preparing conversations failed once and was retried: POST \/auth\/register answered 503/);
    assert.ok(steps(journal).includes('error'));
  });

  it('a rollback step that fails is reported, and the verdict says so', async () => {
    const { journal } = await run(findExperiment('router-failover'), ({ driver }) => {
      // The prepare's scale succeeds; the rollback's fails.
      const scale = driver.scale.bind(driver);
      let n = 0;
      driver.scale = async (...a) => (++n === 2 ? Promise.reject(new Error('the API server is away')) : scale(...a));
    });
    assert.equal(journal.rollback.ok, false);
    assert.deepEqual(journal.rollback.errors, ['router replicas restored to 2: the API server is away']);
    assert.match(journal.reason, /; ROLLBACK INCOMPLETE: router replicas restored to 2: the API server is away$/);
  });
});

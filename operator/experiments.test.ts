import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { findExperiment } from './catalog.ts';
import { runExperiment, type RunOptions } from './engine.ts';
import { writeEvidence } from './evidence.ts';
import { startExperimentPlatform } from './local-driver.ts';
import type { ExperimentSpec } from './experiment-spec.ts';
import type { Journal } from './journal.ts';

const EVIDENCE = resolve('test-artifacts', 'experiments', 'runs');
const TEST_TIMEOUT = 240_000;

/**
 * Every experiment at a small scale against the real multi-process local platform (one platform,
 * rolled back between experiments), then the checks of the checks: a sabotaged platform must
 * fail verification, and an interrupted run must leave the platform as it was.
 */
describe('experiments on the local platform', () => {
  let local: Awaited<ReturnType<typeof startExperimentPlatform>>;

  before(async () => {
    local = await startExperimentPlatform({ logLevel: process.env.TEST_LOG_LEVEL ?? 'warn' });
  });
  after(async () => {
    await local?.stop();
  });

  async function run(spec: ExperimentSpec, options: RunOptions = {}): Promise<Journal> {
    const j = await runExperiment(spec, local.driver, options);
    const dir = writeEvidence(EVIDENCE, j);
    const { rules, ...numbers } = j.verification;
    console.log(`${spec.name}: ${j.verdict} (${j.reason}) ${JSON.stringify(numbers)} failed rules: ${rules.filter((r) => !r.ok).map((r) => r.name).join(', ') || 'none'} → ${dir}`);
    return j;
  }

  async function assertRestored() {
    const ps = await local.driver.listInstances();
    const running = (w: string) => ps.filter((i) => i.workload === w && i.state === 'running').map((i) => i.name);
    assert.deepEqual(running('router'), ['router-1', 'router-2'], 'both routers run again');
    for (const w of ['broker', 'provider-sim', 'api', 'connector-whatsapp', 'connector-instagram']) assert.deepEqual(running(w).length, 1, `${w} runs`);
    const faults = (await (await fetch(`${local.driver.target.simUrl}/_sim/faults`)).json()) as Record<string, { down: boolean; error_rate: number }>;
    assert.equal(faults.whatsapp!.down, false, 'the provider is up');
    assert.equal(faults.whatsapp!.error_rate, 0);
  }

  for (const name of ['router-failover', 'scale-routers', 'connector-outage', 'broker-outage', 'broker-restart']) {
    it(`${name} reaches Pass, with evidence, and the platform is restored`, { timeout: TEST_TIMEOUT }, async () => {
      const j = await run(findExperiment(name));
      assert.equal(j.verdict, 'Pass', j.reason);
      assert.ok(j.injection?.landed, 'the fault landed');
      assert.ok(j.rollback.ok, j.rollback.errors.join('; '));
      assert.equal(j.verification.lost, 0);
      assert.ok((j.verification.accepted as number) > 0);
      await assertRestored();
    });
  }

  it("verification can fail: with the routers' recovery sabotaged, a broker outage loses messages and the run is Fail on lost", { timeout: TEST_TIMEOUT }, async () => {
    const routers = (await local.driver.listInstances('router')).filter((i) => i.state === 'running');
    // The sabotage: the test-only CHAOS_DISABLE_RECOVERY switch. The relay is off, and so is the
    // catch-up routing (a later message of the conversation would otherwise route the older ones
    // first), so what the API could not publish is never routed.
    for (const r of routers) {
      await local.driver.kill(r.name, 'TERM');
      await local.driver.start(r.name, { env: { CHAOS_DISABLE_RECOVERY: 'true' } });
    }
    try {
      const base = findExperiment('broker-outage');
      // The outage outlasts the API producer's whole retry budget (4–7 s measured: kafkajs's
      // producer retries around its connection retries), so publishes fail for certain, and for
      // 5 s after a failure the API does not even try. With a 5 s outage the retries could
      // outlive it and lose nothing.
      const spec: ExperimentSpec = { ...base, timing: { ...base.timing, warmup_s: 4, fault_duration_s: 15, observe_s: 6 }, load: { ...base.load, delivery_deadline_s: 10 } };
      const j = await run(spec);
      assert.equal(j.verdict, 'Fail', j.reason);
      const lost = j.verification.rules.find((r) => r.metric === 'lost')!;
      assert.equal(lost.ok, false, 'the rule that failed is lost = 0');
      assert.ok((lost.observed ?? 0) > 0, `messages were lost: ${lost.observed}`);
      assert.match(j.reason, /lost/);
    } finally {
      for (const r of routers) {
        await local.driver.kill(r.name, 'TERM');
        await local.driver.start(r.name, { env: { CHAOS_DISABLE_RECOVERY: '' } });
      }
    }
  });

  it('rollback: a run interrupted mid-fault leaves the platform as it was (routers restored, provider up)', { timeout: TEST_TIMEOUT }, async () => {
    for (const name of ['router-failover', 'connector-outage']) {
      const abort = new AbortController();
      const j = await run(findExperiment(name), {
        signal: abort.signal,
        // Ctrl-C one second into the fault.
        onEvent: (e) => {
          if (e.kind === 'step' && e.message.startsWith('fault injected')) setTimeout(() => abort.abort(), 1000);
        },
      });
      assert.equal(j.interrupted, true);
      assert.equal(j.verdict, 'Inconclusive');
      assert.ok(j.injection?.landed, 'the fault had landed when the run was interrupted');
      assert.ok(j.rollback.ok, j.rollback.errors.join('; '));
      await assertRestored();
    }
  });
});

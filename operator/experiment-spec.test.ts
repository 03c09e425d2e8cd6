import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentSpecSchema, parseExperimentSpec } from './experiment-spec.ts';
import { findExperiment, listExperiments, withOverrides } from './catalog.ts';
import { BlastRadiusError, planExperiment } from './engine.ts';
import { checkRules, evaluateProbes, recoverySeconds } from './analysis.ts';
import { junitXml, writeEvidence } from './evidence.ts';
import { experimentCommand } from '../services/cli/experiment-command.ts';
import type { Instance } from './driver.ts';
import { sampleJournal } from './testing/sample-journal.ts';

const routers = (n: number): Instance[] =>
  Array.from({ length: n }, (_, i) => ({ name: `router-${i + 1}`, workload: 'router', state: 'running', pid: 100 + i, url: null, started_at: null }));

describe('experiment definitions', () => {
  it('every example definition is valid and the four experiments (and the broker-restart variant) are there', () => {
    const names = listExperiments().map((s) => s.name);
    for (const n of ['router-failover', 'scale-routers', 'connector-outage', 'broker-outage', 'broker-restart']) assert.ok(names.includes(n), n);
  });

  it('rejects a definition with every problem named by its path', () => {
    const r = experimentSpecSchema.safeParse({ name: 'Bad Name', target: { workload: 'db' }, fault: { type: 'kill', count: 0 }, load: { rate: -1 }, verify: [] });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    for (const p of ['name', 'target.workload', 'fault.count', 'load.rate', 'verify']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    assert.throws(() => parseExperimentSpec({ name: 'x', target: { workload: 'api' }, fault: { type: 'scale', replicas: 2 }, load: { rate: 1 }, verify: [{ metric: 'lost', max: 0 }] }), /only routers scale/);
    assert.throws(() => parseExperimentSpec({ name: 'x', target: { workload: 'api' }, fault: { type: 'kill' }, load: { rate: 1 }, verify: [{ metric: 'lost' }] }), /min or max/);
  });

  it('--duration scales the phases, --rate sets the rate', () => {
    const s = withOverrides(findExperiment('connector-outage'), { durationS: 15, rate: 10 });
    assert.equal(s.timing.warmup_s + s.timing.fault_duration_s + s.timing.observe_s, 15);
    assert.equal(s.load.rate, 10);
  });
});

describe('safety', () => {
  it('the blast-radius limit refuses to kill more than the configured share of a workload', () => {
    const spec = findExperiment('router-failover');
    assert.deepEqual(planExperiment(spec, routers(2)).targets, ['router-1']);
    const greedy = { ...spec, fault: { ...spec.fault, count: 2 } } as typeof spec;
    assert.throws(() => planExperiment(greedy, routers(2)), (err: Error) => err instanceof BlastRadiusError && /refusing to kill 2 of 2 router/.test(err.message));
    const strict = { ...spec, safety: { max_kill_share: 0.3 } };
    assert.throws(() => planExperiment(strict, routers(2)), BlastRadiusError);
    const unpinned = { ...strict, target: { ...spec.target, replicas: undefined } };
    assert.doesNotThrow(() => planExperiment(unpinned, routers(4)), 'one of four running routers is within 30%');
  });

  it('--dry-run prints the targets and the plan and starts nothing', async () => {
    const lines: string[] = [];
    const code = await experimentCommand(['run', 'router-failover', '--dry-run'], (s) => lines.push(s));
    assert.equal(code, 0);
    const out = lines.join('\n');
    assert.match(out, /targets: router-1/);
    assert.match(out, /SIGKILL router-1 \(1 of 2, limit 50%\)/);
    assert.match(out, /roll back/);
    assert.doesNotMatch(out, /starting a local platform/);
  });

  it('the CLI lists the experiments and refuses unknown ones with exit code 2', async () => {
    const lines: string[] = [];
    assert.equal(await experimentCommand(['list'], (s) => lines.push(s)), 0);
    assert.equal(lines.length, listExperiments().length);
    assert.equal(await experimentCommand(['run', 'no-such-thing'], () => {}), 2);
    assert.equal(await experimentCommand(['run', 'router-failover', '--platform', 'k8s'], () => {}), 2);
  });
});

describe('analysis', () => {
  const tl = (rows: [number, number][]) => rows.map(([o, d], t) => ({ t_s: t, offered_per_s: o, accepted_per_s: o, failed_per_s: 0, delivered_per_s: d, http_p99_ms: 5, e2e_p50_ms: 20, e2e_p99_ms: 40 }));

  it('recovery: delivered back within tolerance of offered and holding; null when it never recovers', () => {
    const timeline = tl([[10, 10], [10, 10], [10, 0], [10, 0], [10, 0], [10, 25], [10, 15], [10, 10], [10, 10], [10, 10], [10, 10], [10, 10], [10, 10]]);
    assert.equal(recoverySeconds(timeline, 2, 13, 10, 5), 6);
    assert.equal(recoverySeconds(tl([[10, 10], [10, 0], [10, 0], [10, 0]]), 1, 4, 10, 2), null);
  });

  it('a number never observed fails its rule; bounds are checked both ways', () => {
    const r = checkRules([{ metric: 'lost', max: 0 }, { metric: 'speedup', min: 1.6 }, { metric: 'recovery_seconds', max: 10 }], { lost: 3, speedup: 1.9, recovery_seconds: null });
    assert.deepEqual(r.map((x) => x.ok), [false, true, false]);
    assert.match(r[0]!.message, /above the maximum 0/);
    assert.match(r[2]!.message, /not observed/);
  });

  it('HTTP errors are counted in the second a request was offered, so a 202 that lands after the window is not an error', () => {
    // 30/s offered over 3 s; one request offered in the window's last second was answered 202 in the next.
    const timeline = tl([[30, 30], [30, 30], [30, 30], [30, 30]]).map((p, t) => ({ ...p, accepted_per_s: t === 2 ? 29 : t === 3 ? 31 : 30 }));
    const [ok] = evaluateProbes([{ kind: 'http_error_ratio', max: 0.01 }], timeline, [], 0, 3);
    assert.equal(ok!.observed, 0);
    assert.equal(ok!.ok, true);
    timeline[1]!.failed_per_s = 2;
    const [bad] = evaluateProbes([{ kind: 'http_error_ratio', max: 0.01 }], timeline, [], 0, 3);
    assert.equal(bad!.observed, 0.0222);
    assert.equal(bad!.ok, false);
  });

  it('probes read the window they are given', () => {
    const timeline = tl([[10, 10], [10, 10], [10, 10], [10, 5], [10, 5], [10, 5]]);
    const [early] = evaluateProbes([{ kind: 'delivery_rate', tolerance_percent: 10 }], timeline, [], 0, 3);
    const [late] = evaluateProbes([{ kind: 'delivery_rate', tolerance_percent: 10 }], timeline, [], 3, 6);
    assert.equal(early!.ok, true);
    assert.equal(late!.ok, false);
    assert.equal(late!.observed, 50);
  });
});

describe('evidence', () => {
  it('writes journal.json, junit.xml (one case per probe and rule), report.md, report.html and an index', () => {
    const root = mkdtempSync(join(tmpdir(), 'chat4all-evidence-'));
    const j = sampleJournal();
    const dir = writeEvidence(root, j);
    for (const f of ['journal.json', 'junit.xml', 'report.md', 'report.html']) assert.ok(existsSync(join(dir, f)), f);
    const journal = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8'));
    assert.equal(journal.verdict, 'Fail');
    assert.equal(journal.verification.lost, 2);
    const junit = junitXml(j);
    const cases = junit.match(/<testcase /g)!.length;
    assert.equal(cases, j.steady_state_before.probes.length + j.steady_state_after.probes.length + j.verification.rules.length + 2);
    assert.match(junit, /<failure message="lost = 2, above the maximum 0">/);
    assert.match(readFileSync(join(root, 'index.html'), 'utf8'), /router-failover<\/a><\/td><td style="color:#cf222e;font-weight:600">Fail/);
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { experimentCrd, EXPERIMENT_GROUP, EXPERIMENT_PLURAL, EXPERIMENT_VERSION } from '../cdk8s/experiment-crd.ts';
import { createLogger } from '../services/core/logger.ts';
import { EXPERIMENT_API, EXPERIMENT_PHASES, EXPERIMENT_VERDICTS, ROLLBACK_ANNOTATION, ROLLBACK_FINALIZER } from './experiment-resource.ts';
import type { Journal } from './journal.ts';
import { loadOperatorConfig } from './operator-config.ts';
import { startOperator } from './operator.ts';
import { FakeKubeApi, type RequestLogEntry } from './testing/fake-kube-api.ts';
import { FakePlatform } from './testing/fake-platform.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const NS = 'chat4all-e2e';
const STATUS_ENUMS = { phase: EXPERIMENT_PHASES, verdict: EXPERIMENT_VERDICTS };
const routerLabels = { 'app.kubernetes.io/name': 'chat4all', 'app.kubernetes.io/instance': 'chat4all', 'app.kubernetes.io/component': 'router' };

type Status = { phase?: string; verdict?: string; message?: string; results?: Record<string, unknown>; conditions?: { type: string; status: string; reason?: string }[] };
const statusOf = (kube: FakeKubeApi, name: string) => kube.experiments.get(name)?.status as Status | undefined;
const statusPatches = (kube: FakeKubeApi, name: string): RequestLogEntry[] => kube.requestsTo('PATCH', new RegExp(`/experiments/${name}/status$`));

describe('the Experiment resource the operator writes is the CRD of the chart', () => {
  test('group, version, plural, kind, and the status phase and verdict enums match cdk8s/experiment-crd.ts', () => {
    assert.deepEqual([EXPERIMENT_API.group, EXPERIMENT_API.version, EXPERIMENT_API.plural], [EXPERIMENT_GROUP, EXPERIMENT_VERSION, EXPERIMENT_PLURAL]);
    const crd = experimentCrd(z.object({})) as { spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, { enum?: string[] }> } } } } }[] } };
    assert.equal(crd.spec.names.kind, EXPERIMENT_API.kind);
    const status = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties;
    assert.deepEqual(status.phase!.enum, [...EXPERIMENT_PHASES]);
    assert.deepEqual(status.verdict!.enum, [...EXPERIMENT_VERDICTS]);
  });
});

describe('node operator/main.ts (a child process) against a fake Kubernetes API', () => {
  let kube: FakeKubeApi | undefined;
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'operator-main-'));
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('boots, becomes the leader, marks an invalid and an unsupported Experiment Failed with clear messages, and stops on SIGTERM releasing the Lease', async () => {
    kube = await FakeKubeApi.start(NS, { statusEnums: STATUS_ENUMS });
    // Already there at boot: found by the first list.
    kube.createExperiment('broken', { name: 'broken', target: { workload: 'database' }, fault: { type: 'kill' }, load: { rate: 1 }, verify: [] });
    const kubeconfig = join(dir, 'kubeconfig.json');
    writeFileSync(kubeconfig, kube.kubeconfig());
    child = spawn(process.execPath, ['--import', 'tsx', 'operator/main.ts'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: kubeconfig,
        POD_NAMESPACE: NS,
        OPERATOR_HOST: '127.0.0.1',
        OPERATOR_PORT: '0',
        OPERATOR_IDENTITY: 'operator-child',
        CHAT4ALL_INSTANCE: 'chat4all',
        EVIDENCE_DIR: join(dir, 'evidence'),
        LEASE_DURATION_SECONDS: '2',
        LEASE_RETRY_MS: '200',
        // Far beyond the test: what comes after boot must arrive through the watch.
        RESYNC_MS: '600000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const url = await kube.until('the operator logs its URL', () => /"msg":"operator listening"/.test(output) && /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1], 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });

    await kube.until('operator-child holds the Lease', () => (kube!.leases.get('chat4all-operator')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === 'operator-child', 10_000);

    const broken = await kube.until('broken is Failed', () => statusOf(kube!, 'broken')?.phase === 'Failed' && statusOf(kube!, 'broken'), 10_000);
    assert.match(broken.message ?? '', /Experiment broken is not a valid experiment/);
    assert.match(broken.message ?? '', /target\.workload: Invalid option/);
    assert.match(broken.message ?? '', /verify: Too small/);
    assert.equal(broken.verdict, undefined, 'nothing ran: no verdict');
    assert.deepEqual(broken.conditions?.map((c) => [c.type, c.status, c.reason]), [['Succeeded', 'False', 'InvalidSpec']]);
    for (const p of statusPatches(kube, 'broken')) assert.equal(p.contentType, 'application/merge-patch+json');
    // The Event follows the status.
    const event = await kube.until('an Event about broken', () => kube!.events.find((e) => (e.involvedObject as { name: string }).name === 'broken'));
    assert.equal(event.reason, 'InvalidSpec');
    assert.equal(event.type, 'Warning');
    assert.equal((event.involvedObject as { kind: string }).kind, 'Experiment');

    // Created after boot: only the watch can bring it (the resync is 10 minutes away).
    kube.createExperiment('broker-down', { name: 'broker-down', target: { workload: 'broker' }, fault: { type: 'broker-outage' }, load: { rate: 1 }, verify: [{ metric: 'lost', max: 0 }] });
    const unsupported = await kube.until('broker-down is Failed', () => statusOf(kube!, 'broker-down')?.phase === 'Failed' && statusOf(kube!, 'broker-down'), 10_000);
    assert.match(unsupported.message ?? '', /^not supported by the kubernetes driver: broker faults \(down\)/);
    assert.ok(kube.requests.some((r) => r.path === `/apis/chat4all.io/v1alpha1/namespaces/${NS}/experiments` && r.query.watch === 'true'), 'it watches Experiments');

    await kube.until('an Event about broker-down', () => kube!.events.some((e) => (e.involvedObject as { name: string }).name === 'broker-down'));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^chat4all_operator_experiments_total\{verdict="none"\} 2$/m);
    assert.match(metrics, /^chat4all_operator_leader 1$/m);
    assert.match(metrics, /^process_cpu_seconds_total /m, 'default metrics');
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    process.kill(child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, `exits 0 on SIGTERM\n${output}`);
    assert.equal((kube.leases.get('chat4all-operator')?.spec as { holderIdentity?: string }).holderIdentity, undefined, 'the Lease was released');
    assert.match(output, /released the Lease/);
  });
});

describe('two operator replicas', () => {
  let kube: FakeKubeApi | undefined;
  const running: { stop(): Promise<void> }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'operator-pair-'));
  after(async () => {
    for (const r of running) await r.stop();
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only the Lease holder acts on Experiments; when it stops, the other takes over', async () => {
    kube = await FakeKubeApi.start(NS, { statusEnums: STATUS_ENUMS });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const start = (identity: string) =>
      startOperator(
        loadOperatorConfig({ WATCH_NAMESPACE: NS, OPERATOR_PORT: '0', OPERATOR_IDENTITY: identity, CHAT4ALL_INSTANCE: 'chat4all', EVIDENCE_DIR: dir, LEASE_DURATION_SECONDS: '2', LEASE_RETRY_MS: '200' }),
        { kubeConfig: kc, logger: createLogger(identity, 'silent') },
      );
    const a = await start('replica-a');
    running.push(a);
    await kube.until('a leads', () => a.isLeader());
    const b = await start('replica-b');
    running.push(b);
    // Ready means its first Lease attempt got an answer: it tried, and stays on standby.
    await kube.until('b is ready', async () => (await fetch(`${b.url}/readyz`)).status === 200);
    assert.equal(b.isLeader(), false);
    assert.match(await (await fetch(`${b.url}/metrics`)).text(), /^chat4all_operator_leader 0$/m);

    kube.createExperiment('first', { name: 'first' });
    await kube.until('an Event about first', () => kube!.events.some((e) => (e.involvedObject as { name: string }).name === 'first'));
    await a.stop();
    await kube.until('b leads', () => b.isLeader(), 5000);
    kube.createExperiment('second', { name: 'second' });
    await kube.until('an Event about second', () => kube!.events.some((e) => (e.involvedObject as { name: string }).name === 'second'));
    const reporter = (name: string) => kube!.events.filter((e) => (e.involvedObject as { name: string }).name === name).map((e) => e.reportingInstance);
    assert.deepEqual(reporter('first'), ['replica-a']);
    assert.deepEqual(reporter('second'), ['replica-b']);
  });
});

describe('startOperator runs an Experiment end to end (kill a router pod) with the Kubernetes driver', () => {
  let kube: FakeKubeApi | undefined;
  let platform: FakePlatform | undefined;
  let stop: (() => Promise<void>) | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'operator-run-'));
  after(async () => {
    await stop?.();
    await kube?.close();
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('SteadyState → Injecting → Verifying → RollingBack → Completed, verdict Passed, evidence and Events; one at a time; deleting or stopping rolls a run back', async () => {
    platform = await FakePlatform.start(12);
    kube = await FakeKubeApi.start(NS, { statusEnums: STATUS_ENUMS, ...platform.podHooks() });
    platform.attach(kube);
    kube.addDeployment({ name: 'chat4all-router', selector: routerLabels, replicas: 2, port: 0 });
    await kube.until('two routers ready', () => kube!.podList().filter((p) => (p.status as { phase: string }).phase === 'Running').length === 2);
    const originalPods = kube.podList().map((p) => ({ name: p.metadata.name, uid: p.metadata.uid }));

    const config = loadOperatorConfig({
      WATCH_NAMESPACE: NS,
      OPERATOR_PORT: '0',
      OPERATOR_IDENTITY: 'operator-in-process',
      CHAT4ALL_INSTANCE: 'chat4all',
      EVIDENCE_DIR: join(dir, 'evidence'),
      TARGET_API_URL: platform.url,
      TARGET_SIM_URL: platform.url,
      LEASE_DURATION_SECONDS: '2',
      LEASE_RETRY_MS: '200',
      READY_TIMEOUT_MS: '10000',
      KILL_TIMEOUT_MS: '5000',
      SCALE_TIMEOUT_MS: '10000',
    });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const op = await startOperator(config, { kubeConfig: kc, logger: createLogger('operator-test', 'silent') });
    stop = op.stop;
    await kube.until('the operator leads', () => op.isLeader());

    kube.createExperiment('kill-a-router', {
      name: 'kill-a-router',
      target: { workload: 'router', replicas: 2 },
      fault: { type: 'kill', signal: 'KILL', count: 1 },
      timing: { warmup_s: 1, fault_duration_s: 0, observe_s: 2, steady_window_s: 1, recovery_hold_s: 1 },
      load: { rate: 10, conversations: 2, delivery_deadline_s: 5 },
      steady_state: [{ kind: 'http_error_ratio', max: 0.5 }],
      verify: [
        { metric: 'accepted', min: 1 },
        { metric: 'lost', max: 0 },
        { metric: 'takeover_seconds', max: 10 },
      ],
    });
    // While it runs, a second one waits its turn.
    await kube.until('kill-a-router started', () => statusOf(kube!, 'kill-a-router')?.phase === 'SteadyState', 10_000);
    kube.createExperiment('queued', { name: 'queued', target: { workload: 'router' }, fault: { type: 'provider-outage' }, load: { rate: 1 }, verify: [{ metric: 'lost', max: 0 }] });
    await kube.until('queued is Pending', () => statusOf(kube!, 'queued')?.phase === 'Pending', 10_000);
    assert.match(statusOf(kube, 'queued')!.message ?? '', /queued behind kill-a-router/);

    const done = await kube.until('kill-a-router Completed', () => ['Completed', 'Failed'].includes(statusOf(kube!, 'kill-a-router')?.phase ?? '') && statusOf(kube!, 'kill-a-router'), 60_000);
    assert.equal(done.phase, 'Completed', done.message);
    // The rollback finalizer, with the instances to go back to, came before anything was touched,
    // and was released once the run had rolled back.
    const finalizerPatches = kube.requestsTo('PATCH', /\/experiments\/kill-a-router$/);
    const added = finalizerPatches[0]!.body as { metadata: { finalizers: string[]; annotations: Record<string, string> } };
    assert.deepEqual(added.metadata.finalizers, [ROLLBACK_FINALIZER]);
    assert.deepEqual((JSON.parse(added.metadata.annotations[ROLLBACK_ANNOTATION]!) as { name: string }[]).map((i) => i.name).sort(), originalPods.map((p) => p.name).sort());
    const firstTouch = kube.requests.findIndex((r) => r.method === 'DELETE' || (r.method === 'PATCH' && /\/scale$/.test(r.path)));
    assert.ok(kube.requests.indexOf(finalizerPatches[0]!) < firstTouch, 'the finalizer before the first pod or scale change');
    await kube.until('the finalizer of kill-a-router released', () => kube!.experiments.get('kill-a-router')!.metadata.finalizers === undefined);
    assert.equal(done.verdict, 'Passed', done.message);
    assert.equal(done.results?.lost, 0);
    assert.ok(Number(done.results?.accepted) > 0);
    assert.deepEqual(done.conditions?.map((c) => [c.type, c.status]), [['Running', 'False'], ['Succeeded', 'True']]);

    const phases = statusPatches(kube, 'kill-a-router').map((r) => (r.body as { status: Status }).status.phase).filter(Boolean);
    assert.deepEqual(phases, ['SteadyState', 'Injecting', 'Verifying', 'RollingBack', 'Completed']);

    // A router pod was really deleted (gracePeriodSeconds=0), and the fake ReplicaSet replaced it.
    const deletes = kube.requestsTo('DELETE', /\/pods\//);
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0]!.query.gracePeriodSeconds, '0');
    const killed = originalPods.find((p) => deletes[0]!.path.endsWith(`/pods/${p.name}`))!;
    assert.ok(killed, 'one of the original router pods');
    assert.ok(!kube.pods.has(killed.name));
    assert.equal(kube.podList().length, 2);

    // The evidence, on disk and served.
    const evidence = String(done.results?.evidence);
    assert.ok(existsSync(join(evidence, 'journal.json')) && existsSync(join(evidence, 'junit.xml')) && existsSync(join(evidence, 'report.html')));
    const journal = JSON.parse(readFileSync(join(evidence, 'journal.json'), 'utf8')) as Journal;
    assert.equal(journal.platform, 'kubernetes');
    assert.equal(journal.verdict, 'Pass');
    assert.equal(journal.injection?.landed, true);
    assert.match(journal.injection!.proof.join(), new RegExp(`pod ${killed.name} \\(uid ${killed.uid}\\) deleted with gracePeriodSeconds=0`));
    assert.equal(journal.rollback.ok, true, journal.rollback.errors.join('; '));
    const served = await fetch(`${op.url}/evidence/${journal.run_id}/report.md`);
    assert.equal(served.status, 200);
    assert.match(await served.text(), /# Experiment kill-a-router: \*\*Pass\*\*/);

    const reasons = await kube.until('the Completed Event', () => {
      const r = kube!.events.filter((e) => (e.involvedObject as { name: string }).name === 'kill-a-router').map((e) => e.reason);
      return r.includes('Completed') && r;
    });
    assert.deepEqual(reasons, ['Started', 'Completed']);
    assert.match(await (await fetch(`${op.url}/metrics`)).text(), /^chat4all_operator_experiments_total\{verdict="Passed"\} 1$/m);

    // The queued one goes next; deleting it stops it, rolled back.
    await kube.until('queued runs', () => statusOf(kube!, 'queued')?.phase === 'SteadyState', 10_000);
    kube.deleteExperiment('queued');
    // The finalizer holds the object, marked for deletion, until the run has rolled back.
    const marked = kube.experiments.get('queued')!;
    assert.ok(marked.metadata.deletionTimestamp, 'marked for deletion');
    assert.deepEqual(marked.metadata.finalizers, [ROLLBACK_FINALIZER]);
    const deleted = await kube.until('the Completed Event of queued', () => kube!.events.find((e) => (e.involvedObject as { name: string }).name === 'queued' && e.reason === 'Completed'), 30_000);
    assert.match(String(deleted.message), /^Inconclusive: interrupted \(the Experiment is being deleted\)/);
    await kube.until('queued is gone', () => !kube!.experiments.has('queued'), 10_000);
    // In this order: the rollback (router replicas through the scale subresource), the last status, the finalizer released.
    const last = (method: string, path: RegExp) => {
      for (let i = kube!.requests.length - 1; i >= 0; i--) if (kube!.requests[i]!.method === method && path.test(kube!.requests[i]!.path) && kube!.requests[i]!.status === 200) return i;
      return -1;
    };
    const rolledBack = last('PATCH', /\/deployments\/chat4all-router\/scale$/);
    const lastStatus = last('PATCH', /\/experiments\/queued\/status$/);
    const released = last('PATCH', /\/experiments\/queued$/);
    assert.ok(rolledBack >= 0 && rolledBack < lastStatus && lastStatus < released, `rollback ${rolledBack} < last status ${lastStatus} < finalizer released ${released}`);
    assert.deepEqual((kube.requests[released]!.body as { metadata: { finalizers: string[] } }).metadata.finalizers, []);
    const queuedJournal = JSON.parse(readFileSync(join(String((kube.requests[lastStatus]!.body as { status: Status }).status.results?.evidence), 'journal.json'), 'utf8')) as Journal;
    assert.equal(queuedJournal.rollback.ok, true, queuedJournal.rollback.errors.join('; '));

    // Stopping the operator interrupts a run too: rolled back, then Failed with the reason.
    kube.createExperiment('third', { name: 'third', target: { workload: 'router' }, fault: { type: 'provider-outage' }, load: { rate: 1, conversations: 1 }, verify: [{ metric: 'lost', max: 0 }] });
    await kube.until('third runs', () => statusOf(kube!, 'third')?.phase === 'SteadyState', 10_000);
    await op.stop();
    stop = undefined;
    const third = statusOf(kube, 'third')!;
    assert.equal(third.phase, 'Failed');
    assert.equal(third.verdict, 'Inconclusive');
    assert.match(third.message ?? '', /interrupted \(the operator is stopping\)/);
    const thirdJournal = JSON.parse(readFileSync(join(String(third.results?.evidence), 'journal.json'), 'utf8')) as Journal;
    assert.equal(thirdJournal.interrupted, true);
    assert.equal(thirdJournal.rollback.ok, true, 'rolled back before the status was written');
    assert.equal((kube.leases.get('chat4all-operator')!.spec as { holderIdentity?: string }).holderIdentity, undefined);
  });
});

describe('a run whose operator died', () => {
  let kube: FakeKubeApi | undefined;
  let platform: FakePlatform | undefined;
  let stop: (() => Promise<void>) | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'operator-orphan-'));
  after(async () => {
    await stop?.();
    await kube?.close();
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the next leader rolls it back from the recorded instances, then the finalizer lets a deletion through; without the record it says the rollback may not have run', async () => {
    platform = await FakePlatform.start(12);
    kube = await FakeKubeApi.start(NS, { statusEnums: STATUS_ENUMS, ...platform.podHooks() });
    platform.attach(kube);
    kube.addDeployment({ name: 'chat4all-router', selector: routerLabels, replicas: 2, port: 0 });
    const before = await kube.until('two routers ready', () => {
      const pods = kube!.podList().filter((p) => (p.status as { phase: string }).phase === 'Running');
      return pods.length === 2 && pods;
    });
    const spec = (name: string) => ({ name, target: { workload: 'router', replicas: 2 }, fault: { type: 'scale', replicas: 3 }, load: { rate: 1 }, verify: [{ metric: 'lost', max: 0 }] });
    // What a dead operator left: the routers scaled to 3 mid-run, the Experiment in Injecting with
    // the finalizer and its record of the two routers it started from; and someone deleted it since.
    kube.createExperiment('orphan', spec('orphan'), {
      finalizers: [ROLLBACK_FINALIZER],
      annotations: { [ROLLBACK_ANNOTATION]: JSON.stringify(before.map((p) => ({ name: p.metadata.name, workload: 'router' }))) },
      status: { phase: 'Injecting', message: 'fault injected' },
    });
    kube.deleteExperiment('orphan');
    assert.ok(kube.experiments.get('orphan')!.metadata.deletionTimestamp, 'held by the finalizer');
    // One from an operator that recorded nothing: reported, not rolled back.
    kube.createExperiment('unrecorded', spec('unrecorded'), { status: { phase: 'SteadyState' } });
    const scale = kube.requests.length;
    const d = kube.deployments.get('chat4all-router')!;
    (d.spec as { replicas: number }).replicas = 3;

    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const config = loadOperatorConfig({
      WATCH_NAMESPACE: NS,
      OPERATOR_PORT: '0',
      OPERATOR_IDENTITY: 'operator-next',
      CHAT4ALL_INSTANCE: 'chat4all',
      EVIDENCE_DIR: join(dir, 'evidence'),
      TARGET_API_URL: platform.url,
      TARGET_SIM_URL: platform.url,
      LEASE_DURATION_SECONDS: '2',
      LEASE_RETRY_MS: '200',
      SCALE_TIMEOUT_MS: '10000',
    });
    const op = await startOperator(config, { kubeConfig: kc, logger: createLogger('operator-test', 'silent') });
    stop = op.stop;

    await kube.until('orphan is gone', () => !kube!.experiments.has('orphan'), 20_000);
    assert.equal((d.spec as { replicas: number }).replicas, 2, 'the routers are back to the recorded two');
    const rolledBack = kube.requests.findIndex((r, i) => i >= scale && r.method === 'PATCH' && /\/deployments\/chat4all-router\/scale$/.test(r.path));
    const released = kube.requests.findIndex((r) => r.method === 'PATCH' && /\/experiments\/orphan$/.test(r.path));
    assert.ok(rolledBack >= 0 && rolledBack < released, 'rolled back before the finalizer was released');
    const phases = statusPatches(kube, 'orphan').map((r) => (r.body as { status: Status }).status.phase);
    assert.deepEqual(phases, ['RollingBack', 'Failed']);
    const event = await kube.until('the Interrupted Event of orphan', () => kube!.events.find((e) => (e.involvedObject as { name: string }).name === 'orphan'));
    assert.equal(event.reason, 'Interrupted');
    assert.match(String(event.message), /^interrupted: the operator running it stopped during Injecting; rolled back by this operator$/);

    const unrecorded = await kube.until('unrecorded is Failed', () => statusOf(kube!, 'unrecorded')?.phase === 'Failed' && statusOf(kube!, 'unrecorded'));
    assert.equal(unrecorded.verdict, 'Inconclusive');
    assert.match(unrecorded.message ?? '', /stopped during SteadyState; the rollback may not have run/);
  });
});

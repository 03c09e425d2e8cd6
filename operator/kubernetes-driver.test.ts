import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parseExperimentSpec } from './experiment-spec.ts';
import { KubernetesDriver, kubernetesLimitations } from './kubernetes-driver.ts';
import { FakeKubeApi } from './testing/fake-kube-api.ts';

const NS = 'chat4all-test';
const chartLabels = (instance: string, component: string) => ({ 'app.kubernetes.io/name': 'chat4all', 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/component': component });

async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, url: `http://127.0.0.1:${port}` };
}

const close = (s: Server) =>
  new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });

describe('KubernetesDriver against a fake API server', () => {
  let kube: FakeKubeApi;
  let driver: KubernetesDriver;
  let metrics: Awaited<ReturnType<typeof httpServer>>;
  let sim: Awaited<ReturnType<typeof httpServer>>;
  const simRequests: { path: string; body: unknown }[] = [];

  before(async () => {
    // Every router pod "serves" /metrics on this port at 127.0.0.1 (the fake's pod IP).
    metrics = await httpServer((req, res) => {
      res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end('kafka_consumer_assigned_partitions{topic="chat4all.messages.accepted"} 6\n');
    });
    sim = await httpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : null;
        simRequests.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url === '/_sim/faults' ? { [String(body?.channel)]: { down: body?.down ?? false } } : { whatsapp: { requests: 3 } }));
      });
    });
  });

  after(async () => {
    await close(metrics.server);
    await close(sim.server);
  });

  beforeEach(async () => {
    await kube?.close();
    kube = await FakeKubeApi.start(NS, { terminatingMs: 150 });
    kube.addDeployment({ name: 'chat4all-router', selector: chartLabels('chat4all', 'router'), replicas: 2, port: metrics.port, env: [{ name: 'LOG_LEVEL', value: 'info' }] });
    kube.addDeployment({ name: 'chat4all-connector-whatsapp', selector: chartLabels('chat4all', 'connector-whatsapp'), replicas: 1, port: 1 });
    // Another release in the same namespace, and the operator itself: never instances of this one.
    kube.addDeployment({ name: 'other-router', selector: chartLabels('other', 'router'), replicas: 1, port: 1 });
    kube.addDeployment({ name: 'chat4all-operator', selector: chartLabels('chat4all', 'operator'), replicas: 1, port: 1 });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    driver = KubernetesDriver.fromKubeConfig(kc, {
      namespace: NS,
      instance: 'chat4all',
      target: { apiUrl: 'http://127.0.0.1:9', simUrl: sim.url },
      partitions: 12,
      killTimeoutMs: 5000,
      scaleTimeoutMs: 5000,
      pollMs: 20,
    });
    await kube.until('all pods ready', () => kube.podList().length === 5 && kube.podList().every((p) => (p.status as { phase?: string }).phase === 'Running'));
  });

  after(() => kube?.close());

  test("listInstances returns the workload's pods by the chart's labels, and nothing of other releases or the operator", async () => {
    const routers = await driver.listInstances('router');
    assert.deepEqual(routers.map((r) => r.name).sort(), kube.podList('app.kubernetes.io/instance=chat4all,app.kubernetes.io/component=router').map((p) => p.metadata.name));
    assert.equal(routers.length, 2);
    for (const r of routers) {
      assert.equal(r.workload, 'router');
      assert.equal(r.state, 'running');
      assert.equal(r.url, `http://127.0.0.1:${metrics.port}`);
      assert.match(r.name, /^chat4all-router-/);
    }
    const all = await driver.listInstances();
    assert.deepEqual(all.map((i) => i.workload).sort(), ['connector-whatsapp', 'router', 'router']);
    const selectors = kube.requestsTo('GET', /\/namespaces\/chat4all-test\/pods$/).map((r) => r.query.labelSelector);
    assert.ok(selectors.includes('app.kubernetes.io/name=chat4all,app.kubernetes.io/instance=chat4all,app.kubernetes.io/component=router'), selectors.join(' | '));
    assert.equal(kube.requests.at(-1)!.authorization, 'Bearer fake-token', 'the kubeconfig token is sent');
  });

  test('kill KILL deletes the pod with gracePeriodSeconds=0, waits until it is gone, and the ReplicaSet replaces it', async () => {
    const [victim, survivor] = await driver.listInstances('router');
    const uid = kube.pods.get(victim!.name)!.metadata.uid;
    const record = await driver.kill(victim!.name, 'KILL');
    const del = kube.requestsTo('DELETE', new RegExp(`/pods/${victim!.name}$`));
    assert.equal(del.length, 1);
    assert.equal(del[0]!.query.gracePeriodSeconds, '0');
    assert.equal(kube.pods.has(victim!.name), false, 'the pod is gone');
    assert.ok(record.gone_at !== null && record.gone_at >= record.at);
    assert.equal(record.pid, null);
    assert.match(record.proof, new RegExp(`pod ${victim!.name} \\(uid ${uid}\\) deleted with gracePeriodSeconds=0`));
    const replaced = await driver.waitFor(async () => {
      const now = (await driver.listInstances('router')).filter((i) => i.state === 'running');
      return now.length === 2 && now;
    }, 5000, 20);
    assert.ok(replaced, 'two routers run again');
    const names = replaced.map((i) => i.name);
    assert.ok(names.includes(survivor!.name));
    assert.ok(!names.includes(victim!.name), 'the replacement has a new name');
    const replacement = kube.pods.get(names.find((n) => n !== survivor!.name)!)!;
    assert.notEqual(replacement.metadata.uid, uid);
  });

  test('kill TERM deletes with the default grace period: the pod is Terminating first, then gone', async () => {
    const [victim] = await driver.listInstances('router');
    const killing = driver.kill(victim!.name, 'TERM');
    const stopping = await driver.waitFor(async () => (await driver.listInstances('router')).find((i) => i.name === victim!.name && i.state === 'stopping'), 2000, 10);
    assert.ok(stopping, 'seen Terminating (state stopping) before it disappears');
    const record = await killing;
    assert.equal(kube.requestsTo('DELETE', /\/pods\//)[0]!.query.gracePeriodSeconds, undefined);
    assert.ok(record.gone_at);
    assert.match(record.proof, /its grace period/);
  });

  test('start after a kill waits until the workload runs its replicas again and returns the replacement', async () => {
    const [victim] = await driver.listInstances('router');
    await driver.kill(victim!.name, 'KILL');
    const back = await driver.start(victim!.name);
    assert.equal(back.state, 'running');
    assert.notEqual(back.name, victim!.name);
    assert.equal((await driver.listInstances('router')).filter((i) => i.state === 'running').length, 2);
    await assert.rejects(driver.start(victim!.name, { env: { X: '1' } }), /not supported by the kubernetes driver/);
  });

  test('scale merge-patches the Deployment scale subresource and waits until that many pods are ready', async () => {
    const three = await driver.scale('router', 3);
    assert.equal(three.filter((i) => i.state === 'running').length, 3);
    const patch = kube.requestsTo('PATCH', /\/deployments\/chat4all-router\/scale$/);
    assert.equal(patch.length, 1);
    assert.equal(patch[0]!.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch[0]!.body, { spec: { replicas: 3 } });
    const one = await driver.scale('router', 1);
    assert.equal(one.filter((i) => i.state === 'running').length, 1);
    assert.ok(one.filter((i) => i.state !== 'running').every((i) => i.state === 'stopping'), 'the others are Terminating');
    assert.equal((kube.deployments.get('chat4all-router')!.spec as { replicas: number }).replicas, 1);
  });

  test('scale gives up after its bound when something else sets the replicas back (an autoscaler)', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const quick = KubernetesDriver.fromKubeConfig(kc, { namespace: NS, instance: 'chat4all', target: { apiUrl: '', simUrl: '' }, partitions: 12, scaleTimeoutMs: 400, pollMs: 20 });
    const hpa = setInterval(() => ((kube.deployments.get('chat4all-router')!.spec as { replicas: number }).replicas = 2), 5);
    try {
      await assert.rejects(quick.scale('router', 4), /did not reach 4 ready replica\(s\).*something else scales it/);
    } finally {
      clearInterval(hpa);
    }
  });

  test("scrape reads the pod's /metrics at its IP and http port; an unknown pod gives null", async () => {
    const [r] = await driver.listInstances('router');
    assert.match((await driver.scrape(r!.name)) ?? '', /kafka_consumer_assigned_partitions\{topic="chat4all.messages.accepted"\} 6/);
    assert.equal(await driver.scrape('no-such-pod'), null);
  });

  test("provider faults go to the simulator's /_sim/faults; broker faults are refused with a clear reason, 'up' is a no-op", async () => {
    simRequests.length = 0;
    const r = await driver.setProviderFault('whatsapp', { down: true });
    assert.deepEqual(simRequests[0], { path: '/_sim/faults', body: { channel: 'whatsapp', down: true } });
    assert.match(r.proof, /"down":true/);
    assert.deepEqual(await driver.providerStats(), { whatsapp: { requests: 3 } });
    await assert.rejects(driver.setBrokerFault('down'), /not supported by the kubernetes driver: broker faults \(down\).*local driver/);
    await assert.rejects(driver.setBrokerFault('restart'), /not supported by the kubernetes driver/);
    assert.match((await driver.setBrokerFault('up')).proof, /nothing to bring back/);
  });

  test("baseEnv is the Deployment container's literal env", async () => {
    await driver.loadBaseEnv();
    assert.deepEqual(driver.baseEnv('router'), { LOG_LEVEL: 'info' });
    const [r] = await driver.listInstances('router');
    assert.deepEqual(driver.baseEnv(r!.name), { LOG_LEVEL: 'info' });
  });
});

describe('kubernetesLimitations', () => {
  const base = { name: 'x', target: { workload: 'router' }, fault: { type: 'kill' }, load: { rate: 1 }, verify: [{ metric: 'lost', max: 0 }] };
  test('a kill of a router is supported', () => {
    assert.deepEqual(kubernetesLimitations(parseExperimentSpec(base)), []);
  });
  test('per-experiment settings and broker faults are not, and say why', () => {
    const env = kubernetesLimitations(parseExperimentSpec({ ...base, target: { workload: 'router', env: { ROUTER_EMULATED_STORE_LATENCY_MS: '100' } } }));
    assert.match(env.join(), /target\.env: ROUTER_EMULATED_STORE_LATENCY_MS.*Role does not allow/);
    const broker = kubernetesLimitations(parseExperimentSpec({ ...base, target: { workload: 'broker' }, fault: { type: 'broker-outage' } }));
    assert.match(broker.join(), /broker faults \(down\).*outside the chart/);
  });
});

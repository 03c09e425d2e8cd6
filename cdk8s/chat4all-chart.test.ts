import { loadConfig } from '../services/core/config.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { Chat4AllPropsError } from './chart-props.ts';
import { experimentSpecSchema } from './experiment-spec-source.ts';
import { readDashboards, readRuleGroups } from './observability-files.ts';
import { validateAll } from './testing/k8s-validate.ts';
import { REPO_ROOT, byKind, named, synth, type K8sObject } from './testing/render.ts';
import { PUBLIC_ONLY } from './chat4all-chart.ts';
import { ENTRYPOINTS } from './workloads.ts';

const spec = z.object({ target: z.string() });
type Container = { name: string; command: string[]; env: { name: string; value?: string; valueFrom?: { secretKeyRef?: object } }[]; [k: string]: unknown };
type PodSpec = { containers: Container[]; securityContext: Record<string, unknown>; terminationGracePeriodSeconds: number; topologySpreadConstraints?: { labelSelector: { matchLabels: object } }[] };
const podSpec = (d: K8sObject) => (d.spec as { template: { spec: PodSpec } }).template.spec;
const container = (d: K8sObject) => podSpec(d).containers[0]!;

describe('Chat4AllChart (default settings: hpa mode)', () => {
  const objs = synth({}, spec);

  test('every object passes schema validation', async () => {
    await validateAll(objs);
    assert.equal(objs.length, 45);
  });

  test('the push gateway: its entry point on 8081, probes, a CPU autoscaler, a PDB, a Service, open ingress, a preStop pause, scraped by the ServiceMonitor', () => {
    const d = named(objs, 'Deployment', 'chat4all-gateway');
    const c = container(d) as Container & Record<string, { httpGet: { path: string } }> & { lifecycle?: { preStop: { exec: { command: string[] } } } };
    assert.deepEqual(c.command, ['node', ENTRYPOINTS.gateway]);
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8081, protocol: 'TCP' }, { name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    assert.equal(c.readinessProbe!.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe!.httpGet.path, '/healthz');
    assert.deepEqual(c.lifecycle?.preStop.exec.command, ['sleep', '5']);
    const hpa = named(objs, 'HorizontalPodAutoscaler', 'chat4all-gateway').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(hpa.metrics[0].resource, { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    assert.deepEqual([hpa.minReplicas, hpa.maxReplicas], [2, 10]);
    assert.ok(named(objs, 'PodDisruptionBudget', 'chat4all-gateway'));
    assert.ok(named(objs, 'Service', 'chat4all-gateway'));
    const np = named(objs, 'NetworkPolicy', 'chat4all-gateway').spec as { ingress: { from?: unknown }[] };
    assert.equal(np.ingress[0]!.from, undefined, 'people connect from anywhere');
    const sm = byKind(objs, 'ServiceMonitor')[0]!.spec as { endpoints: { port: string; path: string }[] };
    assert.deepEqual(sm.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    assert.ok(named(objs, 'Service', 'chat4all-gateway-metrics'), 'metrics behind their own Service');
    assert.equal(container(d).env?.some((e) => e.name === 'META_APP_SECRET'), false, 'no provider secrets');
    const small = synth({ gateway: { autoscaling: { minReplicas: 3, maxReplicas: 4, targetCPUUtilizationPercentage: 55 } } }, spec);
    const h2 = named(small, 'HorizontalPodAutoscaler', 'chat4all-gateway').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual([h2.minReplicas, h2.maxReplicas, h2.metrics[0].resource.target.averageUtilization], [3, 4, 55]);
  });

  test('each service runs its compiled entry point with probes on /healthz and /readyz', () => {
    const api = named(objs, 'Deployment', 'chat4all-api');
    const c = container(api) as Container & Record<string, { httpGet: { path: string; port: string } }>;
    assert.deepEqual(c.command, ['node', ENTRYPOINTS.api]);
    assert.equal(c.readinessProbe!.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe!.httpGet.path, '/healthz');
    assert.equal(c.startupProbe!.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe!.httpGet.port, 'http');
    assert.deepEqual(container(named(objs, 'Deployment', 'chat4all-connector-whatsapp')).command, ['node', ENTRYPOINTS.connector]);
    assert.deepEqual(container(named(objs, 'Deployment', 'chat4all-operator')).command, ['node', 'dist/operator/main.js']);
  });

  test('routers and connectors scale on the External lag metric of their group and topic; the API on CPU', () => {
    const hpa = named(objs, 'HorizontalPodAutoscaler', 'chat4all-router').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(hpa.metrics[0].type, 'External');
    assert.equal(hpa.metrics[0].external.metric.name, 'chat4all_consumergroup_lag');
    assert.deepEqual(hpa.metrics[0].external.metric.selector.matchLabels, { consumergroup: 'chat4all-router', topic: 'chat4all.messages.accepted' });
    assert.deepEqual(hpa.metrics[0].external.target, { type: 'AverageValue', averageValue: '100' });
    assert.equal(hpa.maxReplicas, 12);
    assert.equal(hpa.behavior.scaleDown.stabilizationWindowSeconds, 300);
    assert.equal(hpa.scaleTargetRef.name, 'chat4all-router');
    const ig = named(objs, 'HorizontalPodAutoscaler', 'chat4all-connector-instagram').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(ig.metrics[0].external.metric.selector.matchLabels, { consumergroup: 'chat4all-connector-instagram', topic: 'chat4all.deliveries.instagram' });
    const api = named(objs, 'HorizontalPodAutoscaler', 'chat4all-api').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(api.metrics[0].resource, { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    assert.equal(byKind(objs, 'ScaledObject').length, 0);
  });

  test('autoscaled Deployments have no replicas; the operator keeps its own', () => {
    for (const n of ['api', 'gateway', 'router', 'connector-whatsapp', 'connector-instagram']) assert.equal((named(objs, 'Deployment', `chat4all-${n}`).spec as { replicas?: number }).replicas, undefined, n);
    assert.equal((named(objs, 'Deployment', 'chat4all-operator').spec as { replicas?: number }).replicas, 1);
  });

  test('selectors match the pod labels of Services, PDBs, spread constraints and NetworkPolicies', () => {
    for (const d of byKind(objs, 'Deployment')) {
      const sel = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const podLabels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      for (const [k, v] of Object.entries(sel)) assert.equal(podLabels[k], v, `${d.metadata.name} ${k}`);
      assert.deepEqual((named(objs, 'Service', d.metadata.name).spec as { selector: object }).selector, sel);
      assert.deepEqual((named(objs, 'PodDisruptionBudget', d.metadata.name).spec as { selector: { matchLabels: object } }).selector.matchLabels, sel);
      assert.deepEqual(podSpec(d).topologySpreadConstraints![0]!.labelSelector.matchLabels, sel);
      assert.deepEqual((named(objs, 'NetworkPolicy', d.metadata.name).spec as { podSelector: { matchLabels: object } }).podSelector.matchLabels, sel);
    }
  });

  test('pods run non-root, read-only, without capabilities, RuntimeDefault seccomp; secrets only by reference', () => {
    for (const d of byKind(objs, 'Deployment')) {
      const ps = podSpec(d);
      assert.equal(ps.securityContext.runAsNonRoot, true);
      assert.deepEqual(ps.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      const c = container(d) as Container & { securityContext: Record<string, unknown> };
      assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      for (const e of c.env) if (/SECRET|TOKEN|PASSWORD|CLIENTS|KEY/.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef, `${d.metadata.name} ${e.name} must come from a Secret`);
    }
    const cm = named(objs, 'ConfigMap', 'chat4all-config') as K8sObject & { data: Record<string, string> };
    assert.equal(cm.data.API_HOST, '0.0.0.0');
    assert.equal(cm.data.BUS_DRIVER, 'kafka');
    assert.equal(cm.data.CHAT4ALL_PROFILE, 'production');
    for (const k of Object.keys(cm.data)) assert.doesNotMatch(k, /SECRET|TOKEN|PASSWORD/);
    // The web client connects where the API says the gateway is: the Service, or gateway.publicUrl.
    assert.equal(cm.data.GATEWAY_PUBLIC_URL, 'ws://chat4all-gateway:8081/v1/stream');
    const pub = named(synth({ gateway: { publicUrl: 'wss://push.example.com/v1/stream' } }, spec), 'ConfigMap', 'chat4all-config') as K8sObject & { data: Record<string, string> };
    assert.equal(pub.data.GATEWAY_PUBLIC_URL, 'wss://push.example.com/v1/stream');
  });

  test('each service gets only its own secrets: no JWT secret in a connector, none of the Meta secrets in the API', () => {
    const secrets = (n: string) => container(named(objs, 'Deployment', `chat4all-${n}`)).env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    const store = ['CASSANDRA_USERNAME', 'CASSANDRA_PASSWORD'];
    assert.deepEqual(secrets('api'), ['JWT_SECRET', 'AUTH_CLIENTS', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'ADMIN_BOOTSTRAP_TOKEN', ...store]);
    const bootstrap = container(named(objs, 'Deployment', 'chat4all-api')).env.find((e) => e.name === 'ADMIN_BOOTSTRAP_TOKEN');
    assert.deepEqual(bootstrap?.valueFrom?.secretKeyRef, { name: 'chat4all-secrets', key: 'admin-bootstrap-token', optional: true }, 'optional: the API starts without it');
    // Only the API holds the bootstrap token: no other object of the install names it.
    const holders = objs.filter((o) => JSON.stringify(o).includes('ADMIN_BOOTSTRAP_TOKEN')).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(holders, ['Deployment/chat4all-api']);
    assert.deepEqual(secrets('router'), store);
    const s3 = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
    assert.deepEqual(secrets('connector-whatsapp'), ['META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', ...s3, 'WHATSAPP_TOKEN', ...store]);
    assert.deepEqual(secrets('connector-instagram'), ['META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', ...s3, 'INSTAGRAM_TOKEN', ...store]);
    assert.deepEqual(secrets('operator'), []);
  });

  test('refuses the dev profile at synth: its built-in secrets are published', () => {
    assert.throws(() => synth({ profile: 'dev' }, spec), /profile is dev, whose built-in secrets .* are published, so anyone could mint an admin token: set profile: production/);
  });

  test('routers get time to finish, commit and leave their group', () => {
    assert.ok(podSpec(named(objs, 'Deployment', 'chat4all-router')).terminationGracePeriodSeconds >= 25);
    assert.throws(() => synth({ router: { terminationGracePeriodSeconds: 10 } }, spec), /router.terminationGracePeriodSeconds \(10\) is shorter than 25 s/);
  });

  test('the operator may act only in its namespace: a Role, no wildcard', () => {
    assert.equal(byKind(objs, 'ClusterRole').length + byKind(objs, 'ClusterRoleBinding').length, 0);
    const role = named(objs, 'Role', 'chat4all-operator') as K8sObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    for (const r of role.rules) for (const x of [...r.apiGroups, ...r.resources, ...r.verbs]) assert.notEqual(x, '*');
    const verbs = (res: string) => role.rules.filter((r) => r.resources.includes(res)).flatMap((r) => r.verbs);
    assert.deepEqual(verbs('pods'), ['get', 'list', 'watch', 'delete']);
    assert.deepEqual(verbs('deployments/scale'), ['get', 'patch']);
    assert.ok(verbs('experiments/status').includes('patch'));
    assert.ok(verbs('leases').includes('update'));
    assert.ok(verbs('events').includes('create'));
    assert.equal(podSpec(named(objs, 'Deployment', 'chat4all-operator')).containers.length, 1);
  });

  test('everything is denied unless a policy allows it; routers accept only Prometheus and the operator', () => {
    const deny = named(objs, 'NetworkPolicy', 'chat4all-default-deny').spec as { policyTypes: string[]; ingress?: unknown };
    assert.deepEqual(deny.policyTypes, ['Ingress', 'Egress']);
    assert.equal(deny.ingress, undefined);
    const router = named(objs, 'NetworkPolicy', 'chat4all-router').spec as { ingress: { from: object[]; ports: { port: number }[] }[] };
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const operatorPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'chat4all', 'app.kubernetes.io/instance': 'chat4all', 'app.kubernetes.io/component': 'operator' } } };
    assert.deepEqual(router.ingress[0]!.from, [operatorPods, monitoring], 'experiments read the routers’ /metrics from the operator');
    assert.deepEqual(router.ingress[0]!.ports, [{ port: 8091, protocol: 'TCP' }]);
    const noOperator = named(synth({ operator: { enabled: false } }, spec), 'NetworkPolicy', 'chat4all-router').spec as { ingress: { from: object[] }[] };
    assert.deepEqual(noOperator.ingress[0]!.from, [monitoring]);
  });

  test('egress never reaches private or link-local addresses outside the cluster, except the platform ranges named', () => {
    type Peer = { ipBlock?: { cidr: string; except?: string[] }; namespaceSelector?: object; podSelector?: object };
    type Egress = { to?: Peer[]; ports?: { port: number }[] }[];
    const egress = (o: K8sObject[], n: string) => (named(o, 'NetworkPolicy', `chat4all-${n}`).spec as { egress: Egress }).egress;
    const excluded = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];
    for (const n of ['api', 'router', 'connector-whatsapp', 'connector-instagram', 'operator', 'cassandra-schema']) {
      for (const rule of egress(objs, n)) {
        const isKubeApi = n === 'operator' && rule.ports?.some((p) => p.port === 6443);
        if (isKubeApi) continue; // the API server's address is private and per cluster: by port only
        assert.ok(rule.to && rule.to.length > 0, `${n}: every egress rule names its peers (${JSON.stringify(rule)})`);
        for (const peer of rule.to) {
          if (!peer.ipBlock) continue;
          if (peer.ipBlock.cidr === '0.0.0.0/0') for (const x of excluded) assert.ok(peer.ipBlock.except?.includes(x), `${n}: ${x} excluded`);
          if (peer.ipBlock.cidr === '::/0') assert.ok(peer.ipBlock.except?.includes('fe80::/10'), `${n}: fe80::/10 excluded`);
        }
      }
    }
    // Webhooks and providers: public addresses only, not even the cluster's pods.
    const webhooks = egress(objs, 'router').find((r) => r.ports?.some((p) => p.port === 80))!;
    assert.deepEqual(webhooks.to, PUBLIC_ONLY);
    assert.deepEqual(egress(objs, 'connector-whatsapp').find((r) => r.ports?.length === 1 && r.ports[0]!.port === 443)!.to, PUBLIC_ONLY);
    const managed = egress(synth({ networkPolicy: { platformCidrs: ['10.20.0.0/16'] } }, spec), 'router').find((r) => r.ports?.some((p) => p.port === 9092))!;
    assert.deepEqual(managed.to!.slice(0, 2), [{ namespaceSelector: {} }, { ipBlock: { cidr: '10.20.0.0/16' } }], 'a managed Kafka in a named private range');
  });

  test('/metrics is on its own port: the public Services expose only http, the ServiceMonitor scrapes the metrics Services', () => {
    for (const n of ['api', 'connector-whatsapp', 'router']) {
      const svc = named(objs, 'Service', `chat4all-${n}`).spec as { ports: { name: string }[] };
      assert.deepEqual(svc.ports.map((p) => p.name), ['http'], n);
      const metrics = named(objs, 'Service', `chat4all-${n}-metrics`) as K8sObject & { spec: { ports: { name: string; port: number; targetPort: string }[] } };
      assert.deepEqual(metrics.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['metrics', 9464, 'metrics']], n);
      assert.equal(metrics.metadata.labels!['chat4all.io/metrics'], 'true');
      const ports = (container(named(objs, 'Deployment', `chat4all-${n}`)) as Container & { ports: { name: string; containerPort: number }[] }).ports;
      assert.deepEqual(ports.map((p) => [p.name, p.containerPort]), [['http', n === 'api' ? 8080 : n === 'router' ? 8091 : 8090], ['metrics', 9464]]);
    }
    const sm = named(objs, 'ServiceMonitor', 'chat4all').spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    assert.equal(sm.selector.matchLabels['chat4all.io/metrics'], 'true');
    assert.deepEqual(sm.endpoints.map((e) => e.port), ['metrics']);
    assert.equal((named(objs, 'ConfigMap', 'chat4all-config') as K8sObject & { data: Record<string, string> }).data.METRICS_PORT, '9464');
    // The public API takes anyone on http, and only Prometheus and the operator on metrics.
    const api = named(objs, 'NetworkPolicy', 'chat4all-api').spec as { ingress: { from?: object[]; ports: { port: number }[] }[] };
    assert.deepEqual(api.ingress.map((r) => [r.ports[0]!.port, r.from?.length ?? 'anyone']), [[8080, 'anyone'], [9464, 2]]);
  });

  test('ServiceMonitor and PrometheusRule carry the release label', () => {
    const custom = synth({ monitoring: { release: 'prom' } }, spec);
    assert.equal(named(custom, 'ServiceMonitor', 'chat4all').metadata.labels!.release, 'prom');
    assert.equal(named(custom, 'PrometheusRule', 'chat4all-alerts').metadata.labels!.release, 'prom');
  });
});

describe('Chat4AllChart: the Cassandra schema Job', () => {
  const objs = synth({}, spec);
  const job = () => named(objs, 'Job', 'chat4all-cassandra-schema');

  test('one hook Job creates the schema; with the cassandra driver only, and not when turned off', async () => {
    assert.deepEqual(job().metadata.annotations, {
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    const s = job().spec as { backoffLimit: number; ttlSecondsAfterFinished: number; template: { spec: { restartPolicy: string } } };
    assert.equal(s.template.spec.restartPolicy, 'OnFailure');
    assert.equal(s.backoffLimit, 6);
    assert.equal(s.ttlSecondsAfterFinished, 600);
    assert.deepEqual(container(job()).command, ['node', ENTRYPOINTS['cassandra-schema']]);
    for (const settings of [{ store: { driver: 'sqlite' as const } }, { store: { cassandra: { schemaJob: { enabled: false } } } }]) {
      const other = synth(settings, spec);
      assert.equal(byKind(other, 'Job').length, 0, JSON.stringify(settings));
      assert.ok(!other.some((o) => o.metadata.name === 'chat4all-cassandra-schema'), JSON.stringify(settings));
      await validateAll(other);
    }
  });

  test('workloads wait for the schema (CASSANDRA_SCHEMA=wait) while the Job creates it', () => {
    const cm = named(objs, 'ConfigMap', 'chat4all-config') as K8sObject & { data: Record<string, string> };
    assert.equal(cm.data.CASSANDRA_SCHEMA, 'wait');
    for (const d of byKind(objs, 'Deployment')) {
      const c = container(d) as Container & { envFrom: { configMapRef: { name: string } }[] };
      assert.ok(c.envFrom.some((e) => e.configMapRef.name === 'chat4all-config'), d.metadata.name);
      assert.ok(!c.env.some((e) => e.name === 'CASSANDRA_SCHEMA'), `${d.metadata.name} must not override the ConfigMap's CASSANDRA_SCHEMA`);
    }
    const sqlite = named(synth({ store: { driver: 'sqlite' } }, spec), 'ConfigMap', 'chat4all-config') as K8sObject & { data: Record<string, string> };
    assert.equal(sqlite.data.CASSANDRA_SCHEMA, undefined);
  });

  test('the Job runs with the settings inline (a pre-install hook runs before the ConfigMap exists) and only the Cassandra secrets', () => {
    const c = container(job()) as Container & { envFrom?: unknown };
    assert.equal(c.envFrom, undefined);
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.CASSANDRA_SCHEMA, 'create');
    assert.equal(env.STORE_DRIVER, 'cassandra');
    assert.equal(env.CASSANDRA_CONTACT_POINTS, 'cassandra.cassandra:9042');
    assert.equal(env.CASSANDRA_KEYSPACE, 'chat4all');
    assert.equal(env.CASSANDRA_REPLICATION, 'SimpleStrategy:1');
    const prod = container(named(synth({ store: { cassandra: { replication: 'datacenter1:3' } } }, spec), 'Job', 'chat4all-cassandra-schema'));
    const prodEnv = Object.fromEntries(prod.env.map((e) => [e.name, e.value ?? '']));
    assert.equal(prodEnv.CASSANDRA_REPLICATION, 'datacenter1:3', 'the keyspace the Job creates gets the chart’s replication');
    // …which the service config reads as NetworkTopologyStrategy.
    assert.deepEqual(loadConfig({ ...prodEnv, CASSANDRA_SCHEMA: 'create' }).cassandraReplication, { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 3 } });
    assert.throws(() => synth({ store: { cassandra: { replication: 'three please' } } }, spec), /SimpleStrategy:<n> or <datacenter>:<n>/);
    assert.deepEqual(env.CASSANDRA_PASSWORD, { secretKeyRef: { name: 'chat4all-cassandra', key: 'password', optional: true } });
    assert.deepEqual(c.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name), ['CASSANDRA_USERNAME', 'CASSANDRA_PASSWORD']);
  });

  test('the Job pod runs non-root, read-only, without capabilities, RuntimeDefault seccomp, no service account token', () => {
    const ps = podSpec(job()) as PodSpec & { automountServiceAccountToken: boolean };
    assert.equal(ps.securityContext.runAsNonRoot, true);
    assert.deepEqual(ps.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(ps.automountServiceAccountToken, false);
    const c = container(job()) as Container & { securityContext: Record<string, unknown>; resources: { limits: Record<string, string> } };
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '256Mi' });
  });

  test('its NetworkPolicy, a hook before the Job, lets its pod reach DNS and Cassandra and nothing else', () => {
    const np = named(objs, 'NetworkPolicy', 'chat4all-cassandra-schema');
    assert.equal(np.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.equal(np.metadata.annotations!['helm.sh/hook-weight'], '-1');
    const s = np.spec as { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress?: unknown; egress: { to?: unknown; ports: { port: number; protocol: string }[] }[] };
    const podLabels = (job().spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    for (const [k, v] of Object.entries(s.podSelector.matchLabels)) assert.equal(podLabels[k], v, `the policy selects the Job's pod: ${k}`);
    assert.equal(podLabels['app.kubernetes.io/component'], 'cassandra-schema');
    assert.deepEqual(s.policyTypes, ['Ingress', 'Egress']);
    assert.equal(s.ingress, undefined, 'nothing connects to the Job');
    assert.deepEqual(s.egress, [
      { to: [{ namespaceSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
      { to: [{ namespaceSelector: {} }, ...PUBLIC_ONLY], ports: [{ port: 9042, protocol: 'TCP' }] },
    ]);
    const custom = named(synth({ networkPolicy: { cassandraPorts: [9042, 9142] } }, spec), 'NetworkPolicy', 'chat4all-cassandra-schema').spec as typeof s;
    assert.deepEqual(custom.egress[1]!.ports.map((p) => p.port), [9042, 9142]);
    assert.equal(byKind(synth({ networkPolicy: { enabled: false } }, spec), 'NetworkPolicy').length, 0);
  });
});

describe('Chat4AllChart (keda mode)', () => {
  const objs = synth({ autoscaling: { mode: 'keda' }, connectors: { autoscaling: { minReplicas: 0, activationLagThreshold: 10 } } }, spec);

  test('ScaledObjects with apache-kafka triggers replace the HPAs, never both', async () => {
    assert.equal(byKind(objs, 'HorizontalPodAutoscaler').length, 0);
    assert.equal(byKind(objs, 'ScaledObject').length, 5);
    await validateAll(objs);
    const so = named(objs, 'ScaledObject', 'chat4all-connector-whatsapp').spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(so.minReplicaCount, 0);
    assert.equal(so.scaleTargetRef.name, 'chat4all-connector-whatsapp');
    assert.equal(so.triggers[0].type, 'apache-kafka');
    assert.deepEqual(
      { ...so.triggers[0].metadata },
      { bootstrapServers: 'chat4all-kafka-bootstrap.kafka:9092', consumerGroup: 'chat4all-connector-whatsapp', topic: 'chat4all.deliveries.whatsapp', lagThreshold: '50', activationLagThreshold: '10', offsetResetPolicy: 'earliest', allowIdleConsumers: 'false' },
    );
    assert.equal((named(objs, 'ScaledObject', 'chat4all-api').spec as { triggers: { type: string }[] }).triggers[0]!.type, 'cpu');
  });
});

describe('Chat4AllChart refuses the traps', () => {
  test('maxReplicas above the partitions of the topic', () => {
    assert.throws(() => synth({ kafka: { partitions: 6 }, router: { autoscaling: { maxReplicas: 8 } } }, spec), (err: unknown) => {
      assert.ok(err instanceof Chat4AllPropsError);
      assert.match(err.message, /router.autoscaling.maxReplicas \(8\) exceeds the partitions of topic chat4all.messages.accepted \(6\): extra consumers would sit idle; raise kafka.partitions or lower router.autoscaling.maxReplicas/);
      assert.match(err.message, /connectors.autoscaling.maxReplicas \(12\) exceeds/); // every problem at once
      return true;
    });
  });
  test('fixed replicas above the partitions', () => {
    assert.throws(() => synth({ autoscaling: { mode: 'none' }, kafka: { partitions: 2 }, router: { replicas: 3 }, connectors: { autoscaling: { maxReplicas: 2 } } }, spec), /router.replicas \(3\) exceeds the partitions/);
  });
  test('scale to zero without a topic, or with an HPA', () => {
    assert.throws(() => synth({ autoscaling: { mode: 'keda' }, router: { autoscaling: { minReplicas: 0, lagOnTopic: false } } }, spec), /router.autoscaling.minReplicas is 0 but the lag is not measured on a topic/);
    assert.throws(() => synth({ router: { autoscaling: { minReplicas: 0 } } }, spec), /an HPA cannot scale to zero/);
  });
  test('unknown settings (a typo) instead of silently ignoring them', () => {
    assert.throws(() => synth({ routr: {} } as never, spec), /Unrecognized key/);
  });
});

describe('what `make synth` writes to cdk8s/dist', () => {
  test('passes schema validation with the real experiment schema, dashboards and alert rules', async () => {
    // The same inputs as cdk8s/main.ts without CHAT4ALL_VALUES, synthesized here so that a stale dist/ cannot hide a change.
    const objs = synth({ name: 'chat4all' }, experimentSpecSchema, {
      dashboards: readDashboards(join(REPO_ROOT, 'observability', 'dashboards')),
      ruleGroups: readRuleGroups(join(REPO_ROOT, 'observability', 'alerts')),
    });
    assert.ok(byKind(objs, 'ConfigMap').some((o) => o.metadata.labels?.grafana_dashboard === '1'), 'the dashboards are among the objects');
    assert.ok((named(objs, 'PrometheusRule', 'chat4all-alerts').spec as { groups: unknown[] }).groups.length > 1, 'the alert rule files are among the objects');
    await validateAll(objs);
  });
});

describe('monitoring files', () => {
  test('dashboards and rule files become ConfigMaps and rule groups; a missing folder gives none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-obs-'));
    mkdirSync(join(dir, 'dashboards'));
    mkdirSync(join(dir, 'alerts'));
    writeFileSync(join(dir, 'dashboards', 'Chat4All Overview.json'), JSON.stringify({ title: 'Chat4All' }));
    writeFileSync(join(dir, 'alerts', 'platform.yaml'), 'groups:\n  - name: chat4all-platform\n    rules:\n      - alert: RouterDown\n        expr: up{job="router"} == 0\n');
    const objs = synth({ monitoring: { dashboardsNamespace: 'monitoring' } }, spec, { dashboards: readDashboards(join(dir, 'dashboards')), ruleGroups: readRuleGroups(join(dir, 'alerts')) });
    const cm = named(objs, 'ConfigMap', 'chat4all-dashboard-chat4all-overview') as K8sObject & { data: Record<string, string> };
    assert.equal(cm.metadata.labels!.grafana_dashboard, '1');
    assert.equal(cm.metadata.namespace, 'monitoring');
    assert.equal(JSON.parse(cm.data['Chat4All Overview.json']!).title, 'Chat4All');
    const rule = named(objs, 'PrometheusRule', 'chat4all-alerts').spec as { groups: { name: string }[] };
    assert.deepEqual(rule.groups.map((g) => g.name), ['chat4all-kubernetes', 'chat4all-platform']);
    await validateAll(objs);
    assert.deepEqual(readDashboards(join(dir, 'missing')), []);
    assert.deepEqual(readRuleGroups(join(dir, 'missing')), []);
  });
});

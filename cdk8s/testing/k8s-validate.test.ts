import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertValidManifest, manifestErrors, validateAll } from './k8s-validate.ts';

// Valid objects; each test breaks one field, so a message that appears is caused by that field.
const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 2 as unknown,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] as Record<string, unknown>[] } },
  },
});
const serviceMonitor = () => ({
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  metadata: { name: 'chat4all' },
  spec: { selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'metrics' as unknown, path: '/metrics', interval: '15s' }] as Record<string, unknown>[] },
});
const scaledObject = () => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'router' },
  spec: { scaleTargetRef: { name: 'router' }, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } }] } as Record<string, unknown>,
});
const service = () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ClusterIP', ports: [{ port: 80, targetPort: 'http' as unknown }] } });

describe('manifest validation', () => {
  test('the valid objects pass', async () => {
    for (const o of [deployment(), serviceMonitor(), scaledObject(), service()]) assert.deepEqual(await manifestErrors(o), [], o.kind);
    await validateAll([deployment(), serviceMonitor(), scaledObject(), service()]);
  });

  test('the upstream schemas reject wrong types, missing required fields and values outside an enum', async () => {
    const d = deployment();
    d.spec.replicas = 'two';
    assert.deepEqual(await manifestErrors(d), ['Deployment/web: /spec/replicas must be integer']);

    const sm = serviceMonitor();
    sm.spec.endpoints[0]!.port = 8080; // the Service port's name, not its number
    assert.deepEqual(await manifestErrors(sm), ['ServiceMonitor/chat4all: /spec/endpoints/0/port must be string']);

    const so = scaledObject();
    delete so.spec.scaleTargetRef;
    assert.deepEqual(await manifestErrors(so), ['ScaledObject/router: /spec must have required property scaleTargetRef']);

    const s = service();
    s.spec.type = 'Bogus';
    s.spec.ports[0]!.targetPort = { name: 'http' };
    assert.deepEqual(await manifestErrors(s), [
      'Service/web: /spec/ports/0/targetPort must be string or integer',
      'Service/web: /spec/type must be equal to one of the allowed values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ]);
  });

  test('a kind without an upstream model is an error, not skipped', async () => {
    assert.deepEqual(await manifestErrors({ apiVersion: 'chat4all.io/v1alpha1', kind: 'Experiment', metadata: { name: 'e' }, spec: {} }), [
      'Experiment/e: no model for apiVersion chat4all.io/v1alpha1 kind Experiment in kubernetes-models, @kubernetes-models/prometheus-operator or @kubernetes-models/keda',
    ]);
    // A kind in the wrong group, and a type of the models that is not a kind.
    assert.match((await manifestErrors({ ...deployment(), apiVersion: 'v1' }))[0]!, /^Deployment\/web: no model for apiVersion v1 kind Deployment/);
    assert.match((await manifestErrors({ ...deployment(), kind: 'DeploymentSpec' }))[0]!, /^DeploymentSpec\/web: no model for apiVersion apps\/v1 kind DeploymentSpec/);
    assert.deepEqual(await manifestErrors({ kind: 'Pod', metadata: { name: 'p' } }), ['Pod/p: not a Kubernetes object: apiVersion and kind are required']);
  });

  test('unknown fields are rejected, in built-in kinds and in custom resources', async () => {
    const d = deployment();
    d.spec.template.spec.containers[0]!.readinesProbe = {};
    assert.deepEqual(await manifestErrors(d), ['Deployment/web: /spec/template/spec/containers/0/readinesProbe is not a field of Container']);

    const sm = serviceMonitor();
    sm.spec.endpoints[0]!.intervall = '15s';
    assert.deepEqual(await manifestErrors(sm), ['ServiceMonitor/chat4all: /spec/endpoints/0/intervall is not a field of Endpoint']);

    const so = scaledObject();
    so.spec.minReplicas = 0; // the HPA's name for KEDA's minReplicaCount
    assert.deepEqual(await manifestErrors(so), ['ScaledObject/router: /spec/minReplicas is not a field of ScaledObjectSpec']);
  });

  test('validateAll and assertValidManifest throw one error naming every object and path', async () => {
    const d = deployment();
    d.spec.replicas = 'two';
    const sm = serviceMonitor();
    sm.spec.endpoints[0]!.port = 8080;
    await assert.rejects(validateAll([service(), d, sm]), (err: Error) => {
      assert.equal(
        err.message,
        '2 problem(s) in Kubernetes manifests:\nDeployment/web: /spec/replicas must be integer\nServiceMonitor/chat4all: /spec/endpoints/0/port must be string',
      );
      return true;
    });
    await assert.rejects(assertValidManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 1 } }), /ConfigMap\/c: \/data\/a must be string/);
  });
});

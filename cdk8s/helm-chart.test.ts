import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { DEV_PROFILE_REFUSED, parseChat4AllProps, valuesJsonSchema, type Chat4AllPropsInput } from './chart-props.ts';
import { experimentCrd } from './experiment-crd.ts';
import { experimentSpecSchema } from './experiment-spec-source.ts';
import { prometheusAdapterRule } from './prometheus-adapter-rule.ts';
import { helm } from './testing/helm.ts';
import { validateAll } from './testing/k8s-validate.ts';
import { CHART_DIR, REPO_ROOT, byKind, helmTemplate, helmTemplateRaw, named, normalize, synth, type K8sObject } from './testing/render.ts';
import { ENTRYPOINTS } from './workloads.ts';

const VALUES_FILES = ['values.yaml', 'values-keda.yaml', 'values-minimal.yaml'];
const readValues = (f: string) => (parse(readFileSync(join(CHART_DIR, f), 'utf8')) ?? {}) as Chat4AllPropsInput;

describe('charts/chat4all with the real helm binary', () => {
  test('helm lint passes with the default and every example values file', async () => {
    for (const f of VALUES_FILES) {
      const r = await helm(['lint', CHART_DIR, '--strict', '-f', join(CHART_DIR, f)]);
      assert.equal(r.code, 0, `${f}: ${r.stdout}${r.stderr}`);
    }
  });

  for (const f of VALUES_FILES) {
    test(`helm template with ${f} renders valid objects identical to the cdk8s app for the same values`, async () => {
      const rendered = await helmTemplate({ valuesFiles: [join(CHART_DIR, f)] });
      await validateAll(rendered);
      const values = f === 'values.yaml' ? readValues(f) : { ...readValues(f) };
      const fromCdk8s = synth({ ...mergeDefaults(values), name: 'chat4all', namespace: 'chat4all' }, experimentSpecSchema, {
        dashboards: [],
        ruleGroups: [],
      });
      // The chart ships files/ copied from observability/: compare the rest here, those below.
      const h = normalize(rendered.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name.includes('-dashboard-'))).map(withoutFileRules));
      const c = normalize(fromCdk8s);
      assert.deepEqual([...h.keys()].sort(), [...c.keys()].sort());
      for (const [key, obj] of c) assert.deepEqual(h.get(key), obj, key);
    });
  }

  test('every container command is a compiled entry point the image holds', async () => {
    const rendered = await helmTemplate({ values: { providerSim: { enabled: true } } });
    const commands = [...byKind(rendered, 'Deployment'), ...byKind(rendered, 'Job')].map((d) => (d.spec as { template: { spec: { containers: { command: string[] }[] } } }).template.spec.containers[0]!.command);
    const allowed = Object.values(ENTRYPOINTS).map((e) => JSON.stringify(['node', e]));
    for (const c of commands) assert.ok(allowed.includes(JSON.stringify(c)), JSON.stringify(c));
    assert.equal(new Set(commands.map((c) => c[1])).size, 7);
  });

  test('secrets.adminBootstrapToken reaches the API only, as an optional secretKeyRef', async () => {
    const rendered = await helmTemplate({ values: { providerSim: { enabled: true }, secrets: { adminBootstrapToken: { name: 'first-admin', key: 'token' } } } });
    const holders = rendered.filter((o) => JSON.stringify(o).includes('ADMIN_BOOTSTRAP_TOKEN')).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(holders, [`Deployment/${named(rendered, 'Deployment', 'chat4all-api').metadata.name}`]);
    const env = (named(rendered, 'Deployment', 'chat4all-api').spec as { template: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } } }).template.spec.containers[0]!.env;
    assert.deepEqual(env.find((e) => e.name === 'ADMIN_BOOTSTRAP_TOKEN')?.valueFrom, { secretKeyRef: { name: 'first-admin', key: 'token', optional: true } });
  });

  test('helm refuses the same traps with the same messages as the cdk8s app', async () => {
    const bad = { kafka: { partitions: 6 }, router: { autoscaling: { maxReplicas: 8 } }, connectors: { autoscaling: { maxReplicas: 6 } } };
    const r = await helmTemplateRaw({ values: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /router.autoscaling.maxReplicas \(8\) exceeds the partitions of topic chat4all.messages.accepted \(6\): extra consumers would sit idle/);
    assert.throws(() => parseChat4AllProps(bad), (e: Error) => e.message.includes(r.stderr.match(/- (router[^\n]*)/)![1]!));
    const zero = await helmTemplateRaw({ values: { autoscaling: { mode: 'keda' }, connectors: { autoscaling: { minReplicas: 0, lagOnTopic: false } } } });
    assert.match(zero.stderr, /connectors.autoscaling.minReplicas is 0 but the lag is not measured on a topic/);
    const dev = await helmTemplateRaw({ values: { profile: 'dev' } });
    assert.notEqual(dev.code, 0, 'helm refuses the dev profile');
    assert.ok(dev.stderr.includes(DEV_PROFILE_REFUSED), dev.stderr);
    assert.throws(() => parseChat4AllProps({ profile: 'dev' }), (e: Error) => e.message.includes(DEV_PROFILE_REFUSED));
    const typo = await helmTemplateRaw({ values: { routr: { replicas: 2 } } });
    assert.notEqual(typo.code, 0, 'values.schema.json rejects unknown keys');
  });

  test('dashboards and rule files in files/ become ConfigMaps and rule groups', async () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'chat4all-chart-')), 'chat4all');
    cpSync(CHART_DIR, chart, { recursive: true });
    // Only the fixtures below: the chart's real copies of observability/ are tested elsewhere.
    for (const dir of ['dashboards', 'alerts']) {
      rmSync(join(chart, 'files', dir), { recursive: true, force: true });
      mkdirSync(join(chart, 'files', dir), { recursive: true });
    }
    writeFileSync(join(chart, 'files', 'dashboards', 'Chat4All Overview.json'), JSON.stringify({ title: 'Chat4All' }));
    writeFileSync(join(chart, 'files', 'alerts', 'platform.yaml'), 'groups:\n  - name: chat4all-platform\n    rules:\n      - alert: RouterDown\n        expr: up == 0\n');
    const objs = await helmTemplate({ chart, values: { monitoring: { release: 'prom' } } });
    const cm = named(objs, 'ConfigMap', 'chat4all-dashboard-chat4all-overview') as K8sObject & { data: Record<string, string> };
    assert.equal(cm.metadata.labels!.grafana_dashboard, '1');
    assert.equal(JSON.parse(cm.data['Chat4All Overview.json']!).title, 'Chat4All');
    const rule = named(objs, 'PrometheusRule', 'chat4all-alerts');
    assert.equal(rule.metadata.labels!.release, 'prom');
    assert.deepEqual((rule.spec as { groups: { name: string }[] }).groups.map((g) => g.name), ['chat4all-kubernetes', 'chat4all-platform']);
    await validateAll(objs);
  });
});

describe('what `make synth` generates is up to date (run `make synth` if not)', () => {
  test('values.yaml states exactly the defaults of the settings schema', () => {
    const { name: _n, ...values } = readValues('values.yaml') as Record<string, unknown>;
    const { name: _a, namespace: _b, ...defaults } = parseChat4AllProps({});
    assert.deepEqual(values, JSON.parse(JSON.stringify(defaults)));
  });
  test('values.schema.json, the CRD, the adapter snippet and the copied observability files', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')), valuesJsonSchema());
    assert.deepEqual(parse(readFileSync(join(CHART_DIR, 'crds', 'experiments.chat4all.io.yaml'), 'utf8')), experimentCrd(experimentSpecSchema));
    const adapter = parse(readFileSync(join(REPO_ROOT, 'charts', 'prometheus-adapter-values.yaml'), 'utf8')) as { rules: { external: unknown[] } };
    assert.deepEqual(adapter.rules.external, [prometheusAdapterRule('chat4all_consumergroup_lag')]);
    for (const [src, dst, ext] of [['dashboards', 'dashboards', /\.json$/], ['alerts', 'alerts', /\.ya?ml$/]] as const) {
      const list = (d: string) => { try { return readdirSync(d).filter((f) => ext.test(f)).sort(); } catch { return []; } };
      const from = join(REPO_ROOT, 'observability', src);
      const to = join(CHART_DIR, 'files', dst);
      assert.deepEqual(list(to), list(from), `charts/chat4all/files/${dst} differs from observability/${src}: run make synth`);
      for (const f of list(from)) assert.equal(readFileSync(join(to, f), 'utf8'), readFileSync(join(from, f), 'utf8'), f);
    }
  });
});

/** The example files override some values; helm merges them over values.yaml. */
function mergeDefaults(v: Chat4AllPropsInput): Chat4AllPropsInput {
  const merge = (a: unknown, b: unknown): unknown =>
    b && typeof b === 'object' && !Array.isArray(b) && a && typeof a === 'object' && !Array.isArray(a)
      ? Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, merge((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])]))
      : (b ?? a);
  return merge(readValues('values.yaml'), v) as Chat4AllPropsInput;
}

/** Rule groups from files/alerts are compared with the copy check, not per values file. */
function withoutFileRules(o: K8sObject): K8sObject {
  if (o.kind !== 'PrometheusRule') return o;
  const groups = (o.spec as { groups: { name: string }[] }).groups.filter((g) => g.name === 'chat4all-kubernetes');
  return { ...o, spec: { groups } };
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runValidateFunc } from '@kubernetes-models/validate';
import { k8s } from 'cdk8s-plus-33';

/**
 * Offline schema validation of Kubernetes manifests.
 *
 * `@kubernetes-models/validate` is only the runtime (error formatting around a validate function);
 * the schemas live in the `kubernetes-models` package, which is not a dependency. The schemas
 * used here come from the jsii assembly of `cdk8s-plus-33`, which cdk8s generated from the
 * Kubernetes 1.33 OpenAPI document: every struct with its fields, their types and which are
 * required. Unlike kubernetes-models, this rejects unknown fields (a misspelt `readinessProbe`
 * would otherwise pass silently). Custom resources (ServiceMonitor, PrometheusRule, ScaledObject)
 * are checked against the hand-written field lists below, taken from their CRDs.
 */

type JsiiType = { primitive?: string; fqn?: string; collection?: { kind: 'array' | 'map'; elementtype: JsiiType }; union?: unknown };
interface JsiiProp { name: string; type: JsiiType; optional?: boolean }
interface JsiiStruct { properties?: JsiiProp[]; kind: string }

const require = createRequire(import.meta.url);
const jsiiPath = join(dirname(require.resolve('cdk8s-plus-33/package.json')), '.jsii');
let assembly: Record<string, JsiiStruct> | null = null;
function types(): Record<string, JsiiStruct> {
  assembly ??= (JSON.parse(readFileSync(jsiiPath, 'utf8')) as { types: Record<string, JsiiStruct> }).types;
  return assembly;
}

/**
 * jsii property name → the name in the manifest, per struct, read from the `toJson_<Struct>`
 * converters cdk8s generated (`'openAPIV3Schema': … obj.openApiv3Schema`, `'$ref': obj.ref`).
 */
let renames: Map<string, Map<string, string>> | null = null;
function manifestName(struct: string, jsiiName: string): string {
  if (!renames) {
    renames = new Map();
    const js = readFileSync(join(dirname(jsiiPath), 'lib', 'imports', 'k8s.js'), 'utf8');
    for (const fn of js.split(/\nfunction toJson_/).slice(1)) {
      const name = fn.slice(0, fn.indexOf('('));
      const map = new Map<string, string>();
      for (const m of fn.matchAll(/'([^']+)': (?:[\w.]+\()?obj\.(\w+)/g)) if (m[1] !== m[2]) map.set(m[2]!, m[1]!);
      renames.set(name, map);
    }
  }
  return renames.get(struct)?.get(jsiiName) ?? jsiiName;
}

export interface ValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; message: string; keyword: string; params: object; schemaPath: string }[] | null;
}

function check(t: JsiiType, v: unknown, path: string, out: string[]): void {
  if (t.primitive) {
    const p = t.primitive;
    if (p === 'any' || p === 'json') return;
    if (p === 'date') {
      if (typeof v !== 'string') out.push(`${path} must be a timestamp string`);
      return;
    }
    if (typeof v !== p) out.push(`${path} must be ${p}, got ${JSON.stringify(v)}`);
    return;
  }
  if (t.collection) {
    if (t.collection.kind === 'array') {
      if (!Array.isArray(v)) return void out.push(`${path} must be an array`);
      v.forEach((x, i) => check(t.collection!.elementtype, x, `${path}/${i}`, out));
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return void out.push(`${path} must be a map`);
      for (const [k, x] of Object.entries(v)) check(t.collection.elementtype, x, `${path}/${k}`, out);
    }
    return;
  }
  if (t.fqn) {
    const short = t.fqn.split('.').pop()!;
    if (short === 'IntOrString' || short === 'Quantity') {
      if (typeof v !== 'string' && typeof v !== 'number') out.push(`${path} must be an integer or a string`);
      return;
    }
    const struct = types()[t.fqn];
    if (!struct || struct.kind !== 'interface') return; // enums and classes: their values are checked by the API server
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return void out.push(`${path} must be an object (${short})`);
    const props = new Map((struct.properties ?? []).map((p) => [manifestName(short, p.name), p]));
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const prop = props.get(k);
      if (!prop) out.push(`${path}/${k} is not a field of ${short}`);
      else if (x !== undefined && x !== null) check(prop.type, x, `${path}/${k}`, out);
    }
    for (const [k, p] of props) if (!p.optional && (v as Record<string, unknown>)[k] === undefined) out.push(`${path} is missing required field ${k} (${short})`);
  }
}

/** apiVersion/kind → jsii props struct, from the GVK of every `Kube*` class cdk8s-plus-33 exports. */
function kindIndex(): Map<string, string> {
  const index = new Map<string, string>();
  for (const [name, cls] of Object.entries(k8s)) {
    const gvk = (cls as { GVK?: { apiVersion: string; kind: string } }).GVK;
    if (gvk && !gvk.kind.endsWith('List')) index.set(`${gvk.apiVersion}/${gvk.kind}`, `cdk8s-plus-33.k8s.${name}Props`);
  }
  return index;
}
let kinds: Map<string, string> | null = null;

// Custom resources we emit, with the fields of their CRDs that we use (a subset: unknown → error).
const S: JsiiType = { primitive: 'string' };
const N: JsiiType = { primitive: 'number' };
const ANY: JsiiType = { primitive: 'any' };
const customStructs: Record<string, Record<string, [JsiiType, boolean]>> = {
  'monitoring.coreos.com/v1/ServiceMonitor': { metadata: [{ fqn: 'cdk8s-plus-33.k8s.ObjectMeta' }, true], spec: [{ fqn: 'x.ServiceMonitorSpec' }, false] },
  'x.ServiceMonitorSpec': { selector: [{ fqn: 'cdk8s-plus-33.k8s.LabelSelector' }, false], endpoints: [{ collection: { kind: 'array', elementtype: { fqn: 'x.Endpoint' } } }, false], namespaceSelector: [ANY, true], jobLabel: [S, true] },
  'x.Endpoint': { port: [S, true], path: [S, true], interval: [S, true], scrapeTimeout: [S, true], scheme: [S, true] },
  'monitoring.coreos.com/v1/PrometheusRule': { metadata: [{ fqn: 'cdk8s-plus-33.k8s.ObjectMeta' }, true], spec: [{ fqn: 'x.PrometheusRuleSpec' }, false] },
  'x.PrometheusRuleSpec': { groups: [{ collection: { kind: 'array', elementtype: { fqn: 'x.RuleGroup' } } }, false] },
  'x.RuleGroup': { name: [S, false], interval: [S, true], rules: [{ collection: { kind: 'array', elementtype: { fqn: 'x.Rule' } } }, false] },
  'x.Rule': { alert: [S, true], record: [S, true], expr: [{ fqn: 'cdk8s-plus-33.k8s.IntOrString' }, false], for: [S, true], keep_firing_for: [S, true], labels: [{ collection: { kind: 'map', elementtype: S } }, true], annotations: [{ collection: { kind: 'map', elementtype: S } }, true] },
  'keda.sh/v1alpha1/ScaledObject': { metadata: [{ fqn: 'cdk8s-plus-33.k8s.ObjectMeta' }, true], spec: [{ fqn: 'x.ScaledObjectSpec' }, false] },
  'x.ScaledObjectSpec': { scaleTargetRef: [{ fqn: 'x.ScaleTarget' }, false], pollingInterval: [N, true], cooldownPeriod: [N, true], minReplicaCount: [N, true], maxReplicaCount: [N, true], advanced: [{ fqn: 'x.Advanced' }, true], triggers: [{ collection: { kind: 'array', elementtype: { fqn: 'x.Trigger' } } }, false] },
  'x.ScaleTarget': { name: [S, false], kind: [S, true], apiVersion: [S, true] },
  'x.Advanced': { horizontalPodAutoscalerConfig: [{ fqn: 'x.HpaConfig' }, true], restoreToOriginalReplicaCount: [{ primitive: 'boolean' }, true] },
  'x.HpaConfig': { name: [S, true], behavior: [{ fqn: 'cdk8s-plus-33.k8s.HorizontalPodAutoscalerBehaviorV2' }, true] },
  'x.Trigger': { type: [S, false], name: [S, true], metricType: [S, true], metadata: [{ collection: { kind: 'map', elementtype: S } }, false], authenticationRef: [ANY, true] },
};
for (const [fqn, fields] of Object.entries(customStructs)) {
  types()[fqn] = { kind: 'interface', properties: Object.entries(fields).map(([name, [type, optional]]) => ({ name, type, optional })) };
}

/** Errors of one manifest; empty when it is valid. */
export function manifestErrors(obj: unknown): string[] {
  kinds ??= kindIndex();
  const o = obj as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  if (!o || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return ['not a Kubernetes object: apiVersion and kind are required'];
  const key = `${o.apiVersion}/${o.kind}`;
  const fqn = kinds.get(key) ?? (customStructs[key] ? key : undefined);
  if (!fqn) return [`no schema for ${key}`];
  const { apiVersion: _a, kind: _k, ...rest } = o as Record<string, unknown>;
  const out: string[] = [];
  check({ fqn }, rest, '', out);
  if (!o.metadata?.name) out.push('/metadata/name is required');
  return out;
}

/** A validate function in the shape `@kubernetes-models/validate` runs (ajv's). */
export const validateManifest: ValidateFn = (data: unknown) => {
  const errors = manifestErrors(data);
  validateManifest.errors = errors.length
    ? errors.map((message) => ({ instancePath: '', message, keyword: 'kubernetes', params: {}, schemaPath: '#' }))
    : null;
  return errors.length === 0;
};

/** Throws one error naming every problem of the object (via `runValidateFunc`). */
export function assertValidManifest(obj: unknown): void {
  const o = obj as { kind?: string; metadata?: { name?: string } };
  try {
    runValidateFunc(validateManifest as never, obj);
  } catch (err) {
    // ajv-i18n rewrites messages of keywords it does not know: name the problems ourselves.
    throw new Error(`${o.kind ?? '?'} ${o.metadata?.name ?? '?'}: ${manifestErrors(obj).join('; ')}`, { cause: err });
  }
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ValidationError from '@kubernetes-models/validate/runtime/validation_error';
import { k8s } from 'cdk8s-plus-33';
import { modelFor } from './k8s-models.ts';
import { modelShape, OPEN, unknownFields, type Shape } from './model-fields.ts';

/**
 * Offline validation of Kubernetes manifests, two checks per object:
 *
 * 1. The upstream schema: the model class of its apiVersion/kind in `kubernetes-models`,
 *    `@kubernetes-models/prometheus-operator` or `@kubernetes-models/keda` (`k8s-models.ts`) is
 *    constructed and validated with `@kubernetes-models/validate`: types, required fields, enums,
 *    formats. A kind without a model is an error.
 * 2. Unknown fields, which those schemas accept (and which the API server drops, at best with a
 *    warning: a misspelt `readinessProbe` would pass silently). The field lists of built-in kinds
 *    come from the jsii assembly of `cdk8s-plus-33` (the Kubernetes 1.33 OpenAPI document, the
 *    version we target); those of custom resources from the TypeScript declarations of their
 *    upstream models (`model-fields.ts`).
 *
 * Every message names the object and the JSON path: `Deployment/x: /spec/replicas must be integer`.
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

/** The fields a jsii type allows; primitives, enums and `IntOrString`/`Quantity` are open. */
const jsiiShapes = new Map<string, Shape>();
function jsiiShape(t: JsiiType): Shape {
  if (t.collection) return { kind: t.collection.kind, element: jsiiShape(t.collection.elementtype) };
  if (!t.fqn) return OPEN;
  const short = t.fqn.split('.').pop()!;
  const struct = types()[t.fqn];
  if (!struct || struct.kind !== 'interface' || short === 'IntOrString' || short === 'Quantity') return OPEN;
  let shape = jsiiShapes.get(t.fqn);
  if (!shape) {
    let fields: Map<string, Shape> | undefined;
    shape = { kind: 'object', name: short, fields: () => (fields ??= new Map((struct.properties ?? []).map((p) => [manifestName(short, p.name), jsiiShape(p.type)]))) };
    jsiiShapes.set(t.fqn, shape);
  }
  return shape;
}

/** apiVersion/kind → jsii props struct, from the GVK of every `Kube*` class cdk8s-plus-33 exports. */
let kinds: Map<string, string> | null = null;
function jsiiKind(apiVersion: string, kind: string): string | undefined {
  if (!kinds) {
    kinds = new Map();
    for (const [name, cls] of Object.entries(k8s)) {
      const gvk = (cls as { GVK?: { apiVersion: string; kind: string } }).GVK;
      if (gvk && !gvk.kind.endsWith('List')) kinds.set(`${gvk.apiVersion}/${gvk.kind}`, `cdk8s-plus-33.k8s.${name}Props`);
    }
  }
  return kinds.get(`${apiVersion}/${kind}`);
}

/** Field lists of the top-level kinds, per apiVersion/kind (building those of a custom resource takes a while). */
const objectShapes = new Map<string, Shape | undefined>();
function objectShape(apiVersion: string, kind: string): Shape | undefined {
  const key = `${apiVersion}/${kind}`;
  if (!objectShapes.has(key)) {
    const fqn = jsiiKind(apiVersion, kind);
    objectShapes.set(key, fqn ? jsiiShape({ fqn }) : modelShape(apiVersion, kind));
  }
  return objectShapes.get(key);
}

interface SchemaError { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }

/** ajv's errors as lines; `oneOf` of types (IntOrString) becomes one "must be string or integer". */
function schemaMessages(errors: SchemaError[]): string[] {
  const out: string[] = [];
  const paths = [...new Set(errors.map((e) => e.instancePath))];
  for (const path of paths) {
    const here = errors.filter((e) => e.instancePath === path);
    const where = path || '/';
    const alternatives = here.filter((e) => e.keyword === 'type').map((e) => String(e.params.type));
    if (alternatives.length > 1 && here.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
      const rest = here.filter((e) => e.keyword !== 'type' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
      out.push(`${where} must be ${alternatives.join(' or ')}`, ...rest.map((e) => `${where} ${e.message ?? e.keyword}`));
      continue;
    }
    for (const e of here) {
      const allowed = e.keyword === 'enum' ? `: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` : '';
      out.push(`${where} ${e.message ?? e.keyword}${allowed}`);
    }
  }
  return out;
}

/** `Kind/name` of an object, for messages. */
function objectId(obj: unknown): string {
  const o = (obj ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  return `${typeof o.kind === 'string' ? o.kind : '?'}/${typeof o.metadata?.name === 'string' ? o.metadata.name : '?'}`;
}

/** Every problem of one object, each naming it and the JSON path; empty when it is valid. */
export async function manifestErrors(obj: unknown): Promise<string[]> {
  const id = objectId(obj);
  const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
  if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
    return [`${id}: not a Kubernetes object: apiVersion and kind are required`];
  }
  const model = await modelFor(o.apiVersion, o.kind);
  if (!model) return [`${id}: no model for apiVersion ${o.apiVersion} kind ${o.kind} in kubernetes-models, @kubernetes-models/prometheus-operator or @kubernetes-models/keda`];
  const out: string[] = [];
  try {
    new model(o).validate();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    out.push(...schemaMessages(err.errors as SchemaError[]));
  }
  const shape = objectShape(o.apiVersion, o.kind);
  if (!shape) out.push(`/ has no field list for ${o.apiVersion} ${o.kind}`);
  else {
    const { apiVersion: _a, kind: _k, ...rest } = o as Record<string, unknown>;
    unknownFields(shape, rest, '', out);
  }
  if (typeof o.metadata?.name !== 'string' || !o.metadata.name) out.push('/metadata/name is required');
  return out.map((m) => `${id}: ${m}`);
}

/** Throws one error listing every problem of every object, if there is any. */
export async function validateAll(objs: readonly unknown[]): Promise<void> {
  const errors = (await Promise.all(objs.map(manifestErrors))).flat();
  if (errors.length) throw new Error(`${errors.length} problem(s) in Kubernetes manifests:\n${errors.join('\n')}`);
}

/** Throws one error listing every problem of the object, if there is any. */
export function assertValidManifest(obj: unknown): Promise<void> {
  return validateAll([obj]);
}

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { modelModule } from './k8s-models.ts';

/**
 * Which fields an object may have, for the unknown-field check (the upstream schemas accept any
 * extra field, and the API server drops unknown fields of custom resources without a word).
 * Types, required fields and formats are the upstream schemas' business, not this one's.
 */
export type Shape =
  | { kind: 'open' }
  | { kind: 'array' | 'map'; element: Shape }
  | { kind: 'object'; name: string; fields: () => Map<string, Shape> };

export const OPEN: Shape = { kind: 'open' };

/** Pushes `<path>/<field> is not a field of <Type>` for every field `shape` does not have. */
export function unknownFields(shape: Shape, v: unknown, path: string, out: string[]): void {
  if (shape.kind === 'open' || typeof v !== 'object' || v === null) return; // a wrong type: the schema check reports it
  if (shape.kind === 'array') {
    if (Array.isArray(v)) v.forEach((x, i) => unknownFields(shape.element, x, `${path}/${i}`, out));
    return;
  }
  if (Array.isArray(v)) return;
  const fields = shape.kind === 'object' ? shape.fields() : undefined;
  for (const [k, x] of Object.entries(v)) {
    const field = fields ? fields.get(k) : shape.kind === 'map' ? shape.element : OPEN;
    if (!field) out.push(`${path}/${escape(k)} is not a field of ${shape.kind === 'object' ? shape.name : '?'}`);
    else unknownFields(field, x, `${path}/${escape(k)}`, out);
  }
}

/** JSON Pointer escaping, as in ajv's instancePath. */
const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The shape of apiVersion/kind read from the TypeScript declarations of its upstream model
 * (`IServiceMonitor` in `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor`),
 * for kinds that cdk8s-plus has no jsii struct for: the custom resources. Building the program
 * costs under a second, once per process; later kinds reuse its parsed files.
 */
export function modelShape(apiVersion: string, kind: string): Shape | undefined {
  const specifier = modelModule(apiVersion, kind);
  if (!specifier) return undefined;
  const root = join(HERE, `__model_${kind}__.ts`);
  const text = `import type { I${kind} } from '${specifier}';\nexport type Root = I${kind};\n`;
  const host = ts.createCompilerHost(OPTIONS);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === root ? ts.createSourceFile(f, text, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => f === root || fileExists.call(host, f);
  host.readFile = (f) => (f === root ? text : readFile.call(host, f));
  program = ts.createProgram([root], OPTIONS, host, program);
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(root)!);
  const rootSymbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === 'Root');
  if (!rootSymbol) return undefined;
  const type = checker.getDeclaredTypeOfSymbol(rootSymbol);
  if (type.flags & ts.TypeFlags.Any) return undefined; // the import did not resolve
  return shapeOf(checker, type, new Map());
}

const HERE = dirname(fileURLToPath(import.meta.url));
const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es5.d.ts'],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};
let program: ts.Program | undefined;

function shapeOf(checker: ts.TypeChecker, t: ts.Type, seen: Map<ts.Type, Shape>): Shape {
  t = checker.getNonNullableType(t);
  const known = seen.get(t);
  if (known) return known;
  if (t.isUnion()) {
    // A union of one object type with literals or primitives (IntOrString) accepts anything the
    // schema accepts; objects in unions do not occur in the models we check.
    return OPEN;
  }
  if (checker.isArrayType(t)) return { kind: 'array', element: shapeOf(checker, checker.getTypeArguments(t as ts.TypeReference)[0]!, seen) };
  if (!(t.flags & ts.TypeFlags.Object)) return OPEN;
  const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
  const props = checker.getPropertiesOfType(t);
  if (index) return props.length ? OPEN : { kind: 'map', element: shapeOf(checker, index.type, seen) };
  if (!props.length) return OPEN; // `{}` or `object`: x-kubernetes-preserve-unknown-fields
  let fields: Map<string, Shape> | undefined;
  const shape: Shape = {
    kind: 'object',
    name: (t.aliasSymbol ?? t.getSymbol())?.getName().replace(/^I(?=[A-Z])/, '') ?? 'object', // IScaleTarget → ScaleTarget
    fields: () => (fields ??= new Map(props.map((p) => [p.getName(), shapeOf(checker, checker.getTypeOfSymbol(p), seen)]))),
  };
  seen.set(t, shape);
  return shape;
}

import { z } from 'zod';

/** The Experiment custom resource: `experiments.chat4all.io`, served as v1alpha1. */
export const EXPERIMENT_GROUP = 'chat4all.io';
export const EXPERIMENT_VERSION = 'v1alpha1';
export const EXPERIMENT_PLURAL = 'experiments';

type Schema = Record<string, unknown>;

// Keywords a CRD's OpenAPI v3 schema accepts (apiextensions.k8s.io/v1 JSONSchemaProps).
const ALLOWED = new Set([
  'type', 'format', 'title', 'description', 'default', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'enum', 'maxProperties',
  'minProperties', 'required', 'items', 'properties', 'additionalProperties', 'nullable', 'example',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-map-type',
  'x-kubernetes-list-map-keys',
]);

/**
 * Turns a JSON Schema (OpenAPI 3.0 flavour) into a structural schema a CRD accepts:
 * `const` becomes a one-value `enum`; unions (`anyOf`/`oneOf`) of objects become one object with
 * the properties of every branch (required: those every branch requires), unions of scalars of
 * one type merge their enums; `additionalProperties: false` is dropped (a structural schema
 * prunes unknown fields anyway) and `$schema`, `$ref`, `id`, `examples`… are removed. Whatever
 * cannot be expressed keeps `x-kubernetes-preserve-unknown-fields`: the operator validates the
 * spec again with the zod schema itself, so nothing is accepted that the engine would reject.
 */
export function toStructural(input: Schema): Schema {
  const s: Schema = { ...input };
  if ('const' in s) {
    s.enum = [s.const];
    delete s.const;
  }
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) {
    delete s.anyOf;
    delete s.oneOf;
    const parts = branches.map(toStructural);
    const nonNull = parts.filter((b) => b.type !== 'null' && !(Array.isArray(b.enum) && b.enum.length === 1 && b.enum[0] === null));
    if (nonNull.length < parts.length) s.nullable = true;
    const typesOf = new Set(nonNull.map((b) => b.type));
    if (typesOf.size === 1 && nonNull[0]!.type === 'object') {
      const properties: Schema = {};
      for (const b of nonNull) {
        for (const [k, v] of Object.entries((b.properties as Record<string, Schema> | undefined) ?? {})) {
          const seen = properties[k] as Schema | undefined;
          // A discriminator (`kind: 'pod'` | `kind: 'deployment'`) keeps every branch's value.
          properties[k] = seen && Array.isArray(seen.enum) && Array.isArray(v.enum) && seen.type === v.type ? { ...seen, enum: [...new Set([...seen.enum, ...v.enum])] } : (seen ?? v);
        }
      }
      const req = nonNull.map((b) => new Set((b.required as string[] | undefined) ?? []));
      const required = [...req[0]!].filter((k) => req.every((r) => r.has(k)));
      Object.assign(s, { type: 'object', properties, ...(required.length ? { required } : {}) });
      if (nonNull.some((b) => b['x-kubernetes-preserve-unknown-fields'])) s['x-kubernetes-preserve-unknown-fields'] = true;
    } else if (typesOf.size === 1 && nonNull.length > 0) {
      const t = nonNull[0]!.type;
      const enums = nonNull.every((b) => Array.isArray(b.enum)) ? nonNull.flatMap((b) => b.enum as unknown[]) : undefined;
      Object.assign(s, { type: t, ...(enums ? { enum: [...new Set(enums)] } : {}) });
    } else if (nonNull.length === 1) {
      Object.assign(s, nonNull[0]);
    } else {
      s['x-kubernetes-preserve-unknown-fields'] = true;
    }
  }
  if (Array.isArray(s.allOf)) {
    const parts = (s.allOf as Schema[]).map(toStructural);
    delete s.allOf;
    for (const part of parts) {
      const props = { ...((s.properties as Schema | undefined) ?? {}), ...((part.properties as Schema | undefined) ?? {}) };
      const required = [...new Set([...((s.required as string[] | undefined) ?? []), ...((part.required as string[] | undefined) ?? [])])];
      Object.assign(s, part, { properties: props }, required.length ? { required } : {});
    }
  }
  if (s.properties && typeof s.properties === 'object') {
    s.properties = Object.fromEntries(Object.entries(s.properties as Record<string, Schema>).map(([k, v]) => [k, toStructural(v)]));
    if (Object.keys(s.properties as object).length === 0) delete s.properties;
  }
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) s.items = toStructural(s.items as Schema);
  if (Array.isArray(s.items)) {
    delete s.items;
    s['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && Object.keys(s.additionalProperties).length === 0) {
    // `{}`: any extra field is allowed (a loose object).
    delete s.additionalProperties;
    s['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (s.additionalProperties === false || s.additionalProperties === true) delete s.additionalProperties;
  else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    // A map: properties and additionalProperties may not both be set.
    if (s.properties) delete s.additionalProperties;
    else s.additionalProperties = toStructural(s.additionalProperties as Schema);
  }
  if (s.type === 'array' && !s.items) s.items = { 'x-kubernetes-preserve-unknown-fields': true };
  if (s.type === 'integer' && s.format === 'safeint') delete s.format;
  for (const k of Object.keys(s)) if (!ALLOWED.has(k)) delete s[k];
  if (!s.type && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-int-or-string']) s['x-kubernetes-preserve-unknown-fields'] = true;
  if (s.type === 'object' && !s.properties && !s.additionalProperties) s['x-kubernetes-preserve-unknown-fields'] = true;
  return s;
}

/** The structural schema of an Experiment's `spec`, from the experiment engine's zod schema. */
export function experimentSpecOpenApi(specSchema: z.ZodType): Schema {
  const json = z.toJSONSchema(specSchema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Schema;
  return toStructural(json);
}

/** What the operator writes in `status` (the known fields; conditions as Kubernetes defines them). */
const statusSchema: Schema = {
  type: 'object',
  properties: {
    phase: { type: 'string', enum: ['Pending', 'SteadyState', 'Injecting', 'Verifying', 'RollingBack', 'Completed', 'Failed'] },
    verdict: { type: 'string', enum: ['Passed', 'Failed', 'Inconclusive'] },
    observedGeneration: { type: 'integer', format: 'int64' },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    message: { type: 'string' },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          type: { type: 'string' },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          reason: { type: 'string' },
          message: { type: 'string' },
          lastTransitionTime: { type: 'string', format: 'date-time' },
          observedGeneration: { type: 'integer', format: 'int64' },
        },
      },
    },
    // Measurements (recovery time, messages lost…) vary per experiment.
    results: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

/** The CustomResourceDefinition manifest (cluster-scoped; Experiments themselves are namespaced). */
export function experimentCrd(specSchema: z.ZodType): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${EXPERIMENT_PLURAL}.${EXPERIMENT_GROUP}` },
    spec: {
      group: EXPERIMENT_GROUP,
      scope: 'Namespaced',
      names: { plural: EXPERIMENT_PLURAL, singular: 'experiment', kind: 'Experiment', listKind: 'ExperimentList', shortNames: ['exp'], categories: ['chat4all'] },
      versions: [
        {
          name: EXPERIMENT_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Verdict', type: 'string', jsonPath: '.status.verdict' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A resilience experiment: steady-state probe, fault, verification, rollback.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: experimentSpecOpenApi(specSchema),
                status: statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * Problems that would make the API server reject the schema as non-structural: every node has a
 * `type` (or preserves unknown fields / is int-or-string), no forbidden keyword, `properties` and
 * `additionalProperties` never together.
 */
export function structuralProblems(schema: Schema, path = ''): string[] {
  const out: string[] = [];
  for (const k of Object.keys(schema)) if (!ALLOWED.has(k)) out.push(`${path || '/'}: keyword ${k} is not allowed`);
  if (!schema.type && !schema['x-kubernetes-preserve-unknown-fields'] && !schema['x-kubernetes-int-or-string']) out.push(`${path || '/'}: no type`);
  if (schema.properties && schema.additionalProperties) out.push(`${path || '/'}: properties and additionalProperties together`);
  for (const [k, v] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {})) out.push(...structuralProblems(v, `${path}/${k}`));
  if (schema.items && typeof schema.items === 'object') out.push(...structuralProblems(schema.items as Schema, `${path}[]`));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...structuralProblems(schema.additionalProperties as Schema, `${path}{}`));
  return out;
}

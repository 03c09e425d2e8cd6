import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { experimentCrd, experimentSpecOpenApi, structuralProblems } from './experiment-crd.ts';
import { assertValidManifest } from './testing/k8s-validate.ts';

// A stand-in for operator/experiment-spec.ts with the shapes zod turns into non-structural JSON Schema.
const fixtureSpec = z.object({
  experiment: z.enum(['kill-router', 'broker-down', 'scale-out']),
  target: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('pod'), selector: z.record(z.string(), z.string()) }),
    z.object({ kind: z.literal('deployment'), name: z.string(), replicas: z.number().int().min(0).optional() }),
  ]),
  durationSeconds: z.number().int().positive().default(60),
  messages: z.number().int().min(1).max(100_000).default(500),
  note: z.string().nullable().optional(),
  steadyState: z.object({ maxLossRatio: z.literal(0), probes: z.array(z.string()).min(1) }).strict(),
});

describe('Experiment CRD', () => {
  const crd = experimentCrd(fixtureSpec);
  type Version = { name: string; subresources: object; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Record<string, unknown> } };
  const version = (crd.spec as { versions: Version[] }).versions[0]!;

  test('is a valid v1 CRD for chat4all.io/v1alpha1 with a status subresource and printer columns', async () => {
    await assertValidManifest(crd);
    assert.equal((crd.spec as { group: string }).group, 'chat4all.io');
    assert.equal(version.name, 'v1alpha1');
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]), [['Phase', '.status.phase'], ['Verdict', '.status.verdict'], ['Age', '.metadata.creationTimestamp']]);
  });

  test('the spec schema comes from the zod schema and is structural', () => {
    const spec = experimentSpecOpenApi(fixtureSpec) as { properties: Record<string, Record<string, unknown>>; required: string[] };
    assert.deepEqual(structuralProblems(version.schema.openAPIV3Schema), []);
    assert.deepEqual(spec.properties.experiment!.enum, ['kill-router', 'broker-down', 'scale-out']);
    // The discriminated union becomes one object: kind is an enum of both literals, required in both.
    const target = spec.properties.target! as { properties: Record<string, { enum?: unknown[] }>; required: string[] };
    assert.deepEqual(target.properties.kind!.enum, ['pod', 'deployment']);
    assert.deepEqual(target.required, ['kind']);
    assert.ok(target.properties.selector && target.properties.name && target.properties.replicas);
    assert.equal(spec.properties.durationSeconds!.default, 60);
    assert.equal(spec.properties.note!.nullable, true);
    assert.deepEqual((spec.properties.steadyState as { properties: Record<string, { enum?: unknown[] }> }).properties.maxLossRatio!.enum, [0]);
    assert.doesNotMatch(JSON.stringify(spec), /"\$schema"|"const"|"anyOf"|"oneOf"|"additionalProperties":false/);
    assert.deepEqual(spec.required.sort(), ['experiment', 'steadyState', 'target']);
  });

  test('structuralProblems finds what the API server would reject', () => {
    assert.deepEqual(structuralProblems({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }] } } }), ['/a: keyword anyOf is not allowed', '/a: no type']);
  });
});

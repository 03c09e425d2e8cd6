/**
 * Fuzzes every route of the OpenAPI document (services/api/openapi.ts) with generated bodies,
 * headers, path parameters and query strings, against the real API on an in-memory store and
 * bus. For every request: never a 5xx; every 4xx is problem+json with its status in the body;
 * and a refused request stores nothing. `make test` runs FUZZ_RUNS (default 40) requests per
 * route with a fixed seed; `make fuzz` runs many more. FUZZ_SEED picks another seed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import fc from 'fast-check';
import { buildOpenApi } from './openapi.ts';
import { startTestApi, type TestApi } from './test-api.ts';
import { startLocalS3, type LocalS3 } from '../lib/local-s3.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);

type JsonSchema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
};

interface Parameter {
  name: string;
  in: 'path' | 'query';
  schema: JsonSchema;
}

interface Route {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: JsonSchema;
}

const doc = buildOpenApi();
const components = doc.components.schemas as Record<string, JsonSchema>;
const routes: Route[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops as Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    parameters: op.parameters ?? [],
    body: op.requestBody?.content['application/json']?.schema,
  })),
);

/** Text a careless or hostile client sends: odd Unicode, lone surrogates, escapes, long runs. */
const nastyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\ud800', 'a\udc00b', '\u0000', '%', '../..', '__proto__', 'constructor', '😀'.repeat(5000), 'x'.repeat(70_000), '{"a":1}', '+5511999990001'),
);

/** Values that follow `schema` most of the time and anything JSON some of the time, at every level. */
function fromSchema(schema: JsonSchema, known: Known, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 15, arbitrary: typed(schema, known, depth) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
}

function typed(schema: JsonSchema, known: Known, depth: number): fc.Arbitrary<unknown> {
  if (schema.$ref) return fromSchema(components[schema.$ref.split('/').pop()!]!, known, depth);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, known, depth)));
  switch (schema.type) {
    case 'object': {
      if (!schema.properties || depth > 4) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      const shape = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, fromSchema(s, known, depth + 1)]));
      return fc.record(shape, { requiredKeys: schema.required?.filter((k) => k in shape) ?? [] });
    }
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, known, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    case 'integer':
      return fc.oneof(fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 1000, 1000) }), fc.constantFrom(-1, 0, 2 ** 53, 1e308));
    case 'number':
      return fc.double();
    case 'boolean':
      return fc.boolean();
    case 'string': {
      // Known ids weigh most: a body that names a real conversation or user gets past validation.
      const options: fc.WeightedArbitrary<unknown>[] = [{ weight: 2, arbitrary: nastyText }, { weight: 4, arbitrary: fc.constantFrom(...known.ids()) }];
      if (schema.format === 'uuid') options.push({ weight: 2, arbitrary: fc.uuid() });
      if (schema.pattern) options.push({ weight: 4, arbitrary: fc.stringMatching(new RegExp(schema.pattern)) });
      if (schema.minLength !== undefined || schema.maxLength !== undefined) {
        options.push({ weight: 2, arbitrary: fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 50, 50) }) });
      }
      return fc.oneof(...options);
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** What the fuzzer can point at: ids and tokens that exist, so requests reach past the 404s. */
interface Known {
  ids(): string[];
  tokens: Record<'user' | 'other' | 'admin' | 'service', string>;
  /** Ids by role, for the valid bodies below. */
  named: { alice: string; bob: string; conversation: string; message: string };
}

/**
 * A valid body per route that takes one (the fuzzer changes one field of it), so generated
 * requests get past validation to the use case, the store and the bus, where the 5xx hide.
 * Every route with a body needs one: a test below checks it.
 */
const VALID_BODIES: Record<string, (k: Known['named']) => Record<string, unknown>> = {
  'POST /auth/register': () => ({ username: `fz_${Math.random().toString(36).slice(2, 10)}`, password: 'password123' }),
  'POST /auth/token': () => ({ username: 'root', password: 'correct horse battery' }),
  'POST /v1/users/me/identities': () => ({ channel: 'whatsapp', address: `+55119${Math.floor(Math.random() * 1e8)}` }),
  'POST /v1/users/me/identities/{channel}/{address}/verify': () => ({ code: '123456' }),
  'POST /v1/conversations': (k) => ({ type: 'group', members: [k.bob], name: 'fuzz' }),
  'POST /v1/conversations/{id}/members': (k) => ({ user_id: k.bob }),
  'POST /v1/messages': (k) => ({ conversation_id: k.conversation, payload: { type: 'text', text: 'hi' } }),
  // An address literal: no DNS lookup.
  'POST /v1/webhooks': () => ({ url: 'https://93.184.216.34/hook', events: ['message.sent'] }),
  'POST /v1/admin/dead-letters/{id}/replay': () => ({ value: '{"message_id":"x"}' }),
  'POST /v1/admin/bootstrap': () => ({ token: 'not-the-bootstrap-token' }),
  'POST /v1/files': (k) => ({ filename: 'f.txt', size: 10, content_type: 'text/plain', sha256: '0'.repeat(64), conversation_id: k.conversation }),
  'POST /v1/files/{id}/parts': () => ({ part_numbers: [1] }),
  'PUT /v1/files/{id}/parts/{n}': () => ({ etag: '"0cc175b9c0f1b6a831c399e269772661"' }),
};

/** Fields a mutation may replace, besides the body's own top-level ones. */
const EXTRA_FIELDS = ['metadata', 'payload', '__proto__', 'constructor'];

/** A valid body with one field set to something generated: a nasty text, any JSON, or nesting 30–30,000 deep. */
function mutatedBody(route: Route, known: Known): fc.Arbitrary<string> {
  const valid = VALID_BODIES[`${route.method} ${route.path}`];
  if (!valid) return fc.constant('{}');
  const fields = [...Object.keys(valid(known.named)), ...EXTRA_FIELDS];
  const replacement = fc.oneof(
    nastyText.map((t) => JSON.stringify(t)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    // Shallow enough to pass a depth check, and deep enough to overflow a recursive serialiser.
    fc.oneof(fc.integer({ min: 30, max: 100 }), fc.integer({ min: 5000, max: 30_000 })).map((n) => `{"deep":${'['.repeat(n)}${']'.repeat(n)}}`),
  );
  // metadata is the one free-form field, so it is where deep or odd values get furthest.
  const field = fc.oneof({ weight: 2, arbitrary: fc.constant('metadata') }, { weight: 3, arbitrary: fc.constantFrom(...fields) });
  return fc.tuple(field, replacement).map(([field, json]) => {
    const body = { ...valid(known.named), [field]: '\u0000MUTATED' };
    // Spliced in as text: the generated value may be too deep for JSON.stringify itself.
    return JSON.stringify(body).replace('"\\u0000MUTATED"', json);
  });
}

const headerText = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

function requestFor(route: Route, known: Known) {
  const pathParam = (name: string) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...known.ids(), ...(name === 'channel' ? ['whatsapp', 'instagram', 'internal'] : [])).map(encodeURIComponent) },
      { weight: 2, arbitrary: nastyText.filter((s) => s.length > 0 && s.length < 3000).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))) },
      { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%00', '%ED%A0%80', '..', '%2e%2e', 'a'.repeat(5000)) },
    );
  const path = fc
    .tuple(...route.parameters.filter((p) => p.in === 'path').map((p) => pathParam(p.name).map((v) => [p.name, v] as const)))
    .map((pairs) => pairs.reduce((acc, [name, v]) => acc.replace(`{${name}}`, v), route.path));
  const queryParams = route.parameters.filter((p) => p.in === 'query');
  const query = fc
    .record({
      documented: fc.tuple(
        ...queryParams.map((p) =>
          fc.option(fc.oneof(typed(p.schema, known, 0).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), headerText), { nil: undefined }).map((v) => [p.name, v] as const),
        ),
      ),
      extra: fc.array(fc.tuple(fc.constantFrom(...queryParams.map((p) => p.name), 'x', '__proto__', 'limit[]'), headerText), { maxLength: 2 }),
    })
    .map(({ documented, extra }) => {
      // Generated values are shared with the shrinker: read them, never change them.
      const search = new URLSearchParams();
      for (const [k, v] of documented) if (v !== undefined) search.append(k, v);
      for (const [k, v] of extra) search.append(k, v);
      const s = search.toString();
      return s ? `?${s}` : '';
    });
  const body: fc.Arbitrary<string | undefined> = fc.oneof(
    { weight: 4, arbitrary: route.body ? fromSchema(route.body, known).map((v) => JSON.stringify(v)) : fc.constant(undefined) },
    { weight: 8, arbitrary: route.body ? mutatedBody(route, known) : fc.constant(undefined) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 40_000 }).map((n) => `{"metadata":${'['.repeat(n)}${']'.repeat(n)}}`) },
    // Deep nesting inside an otherwise plausible body, where a parser or serialiser would recurse into it.
    {
      weight: 3,
      arbitrary: fc
        .tuple(route.body ? fromSchema(route.body, known) : fc.constant({}), fc.integer({ min: 30, max: 30_000 }))
        .map(([v, n]) => {
          const shell = v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...v, metadata: { deep: '\u0000DEEP' } } : { metadata: { deep: '\u0000DEEP' } };
          return JSON.stringify(shell).replace('"\\u0000DEEP"', `${'['.repeat(n)}${']'.repeat(n)}`);
        }),
    },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'null', '[]', '{"__proto__":{"admin":true}}', `{"pad":"${'x'.repeat(70_000)}"}`) },
  );
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...Object.values(known.tokens)).map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: headerText.map((t) => `Bearer ${t}`) },
  );
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/problem+json', 'application/json; charset=utf-16', 'multipart/form-data') },
    { weight: 1, arbitrary: headerText },
  );
  const extraHeaders = fc.oneof(
    { weight: 4, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc.record(
        {
          'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x'),
          'x-request-id': headerText,
          traceparent: headerText,
          accept: headerText,
        },
        { requiredKeys: [] },
      ),
    },
  );
  return fc.record({ path, query, body, auth, contentType, extraHeaders });
}

describe(`fuzzing every documented route (${RUNS} runs each, seed ${SEED})`, () => {
  let api: TestApi;
  let known: Known;
  const ids: string[] = [];
  let db: Database.Database;
  let s3: LocalS3;
  let s3Dir: string;

  before(async () => {
    // File routes reach the object store: a real local S3, so that they answer as in production.
    s3Dir = await mkdtemp(join(tmpdir(), 'chat4all-fuzz-s3-'));
    s3 = await startLocalS3({ directory: s3Dir, port: 0 });
    api = await startTestApi({ s3Endpoint: s3.endpoint });
    await api.objects.ensureBucket();
    const [alice, bob] = [await api.user(), await api.user()];
    const root = await api.request('POST', '/auth/register', { body: { username: 'root', password: 'correct horse battery' } });
    await api.stores.users.setRole(root.body.user_id as string, 'admin');
    const rootToken = (await api.request('POST', '/auth/token', { body: { username: 'root', password: 'correct horse battery' } })).body.access_token as string;
    const service = (await api.request('POST', '/auth/token', { body: { client_id: 'demo-client', client_secret: 'demo-secret' } })).body.access_token as string;
    const conv = await api.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'group', members: [bob.user_id], name: 'fuzz' } });
    const msg = await api.request('POST', '/v1/messages', { token: alice.token, body: { conversation_id: conv.body.conversation_id, payload: { type: 'text', text: 'hi' } } });
    await api.request('POST', '/v1/users/me/identities', { token: alice.token, body: { channel: 'whatsapp', address: '+5511999990001' } });
    const file = await api.request('POST', '/v1/files', { token: alice.token, body: VALID_BODIES['POST /v1/files']!({ alice: alice.user_id, bob: bob.user_id, conversation: conv.body.conversation_id, message: msg.body.message_id }) });
    ids.push(alice.user_id, bob.user_id, root.body.user_id, conv.body.conversation_id, msg.body.message_id, '+5511999990001', file.body.file_id, '1');
    known = {
      ids: () => ids,
      tokens: { user: alice.token, other: bob.token, admin: rootToken, service },
      named: { alice: alice.user_id, bob: bob.user_id, conversation: conv.body.conversation_id, message: msg.body.message_id },
    };
    // The test's own window on the store: every row of every table, to see that a refusal wrote nothing.
    db = (api.stores.users as unknown as { db: Database.Database }).db;
    assert.equal(typeof db?.prepare, 'function', 'the fuzz suite counts rows through the SQLite store\'s own connection (its `db`)');
  });
  after(async () => {
    await api.close();
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
  });

  // Rate-limit counters are left out: counting refused attempts (a wrong password) is their job.
  const tables = () =>
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'rate_limits'").all() as { name: string }[]).map((t) => t.name);
  const fingerprint = () => tables().map((t) => `${t}:${(db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n}`).join(',');

  it('has a valid body for every route that takes one', () => {
    assert.deepEqual(routes.filter((r) => r.body && !VALID_BODIES[`${r.method} ${r.path}`]).map((r) => `${r.method} ${r.path}`), []);
  });

  for (const route of routes) {
    it(`${route.method} ${route.path}`, async () => {
      await fc.assert(
        fc.asyncProperty(requestFor(route, known), async (r) => {
          const headers: Record<string, string> = { ...r.extraHeaders };
          if (r.auth !== undefined) headers.authorization = r.auth;
          if (r.contentType !== undefined && r.body !== undefined && route.method !== 'GET') headers['content-type'] = r.contentType;
          const before = fingerprint();
          // fetch sends no body with GET; the other methods get whatever was generated.
          const body = route.method === 'GET' ? undefined : r.body;
          const res = await fetch(api.url + r.path + r.query, { method: route.method, headers, body });
          const text = await res.text();
          const where = `${route.method} ${r.path}${r.query} → ${res.status} ${text.slice(0, 300)}`;
          assert.ok(res.status < 500, where);
          if (res.status >= 400) {
            assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, where);
            const problem = JSON.parse(text) as { status: number; type: string; detail: string };
            assert.equal(problem.status, res.status, where);
            assert.equal(typeof problem.detail, 'string', where);
            const afterwards = fingerprint();
            assert.equal(afterwards, before, `a refused request stored something: ${where}\n${before}\n${afterwards}`);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: RUNS > 100 },
      );
    });
  }
});

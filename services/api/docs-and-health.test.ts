import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import { startTestApi, type TestApi } from './test-api.ts';
import { OPERATIONS } from './openapi.ts';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` the Express app answers, with `:id` written as `{id}`. */
function expressRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

describe('docs, health and metrics', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('serves an OpenAPI 3.1 document with every route, bearer security and problem answers', async () => {
    const res = await api.request('GET', '/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.match(doc.openapi, /^3\.1\./);

    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(documented, expressRoutes(api.app));
    assert.equal(OPERATIONS.length, documented.length);

    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const send = doc.paths['/v1/messages'].post;
    assert.deepEqual(send.security, [{ bearerAuth: [] }]);
    const ref: string = send.requestBody.content['application/json'].schema.$ref;
    const schema = doc.components.schemas[ref.split('/').pop()!];
    assert.ok(schema.properties.payload, 'POST /v1/messages body documents payload');
    assert.deepEqual(schema.required.sort(), ['conversation_id', 'payload']);
    assert.ok(schema.properties.channels.items.enum.includes('all'));
    const bad = doc.components.responses[send.responses['400'].$ref.split('/').pop()];
    assert.ok(bad.content['application/problem+json']);
    assert.equal(doc.paths['/auth/token'].post.security.length, 0);
  });

  it('serves a readable HTML page of the document', async () => {
    const res = await api.request('GET', '/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /<h1>Chat4All API/);
    assert.match(res.text, /\/v1\/messages\/\{id\}\/read/);
    assert.match(res.text, /SendMessageRequest/);
    assert.doesNotMatch(res.text, /<script/);
  });

  it('answers /healthz and /readyz: degraded without the bus, 503 without the store', async () => {
    assert.deepEqual((await api.request('GET', '/healthz')).body, { status: 'ok' });
    assert.equal((await api.request('GET', '/readyz')).status, 200);
    const busHealthy = api.bus.healthy.bind(api.bus);
    api.bus.healthy = async () => false;
    try {
      const res = await api.request('GET', '/readyz');
      assert.equal(res.status, 200, 'messages are still accepted durably without the bus');
      assert.equal(res.body.status, 'degraded');
      assert.equal(res.body.checks.bus, false);
    } finally {
      api.bus.healthy = busHealthy;
    }
    const storeHealthy = api.stores.healthy.bind(api.stores);
    api.stores.healthy = async () => false;
    try {
      const res = await api.request('GET', '/readyz');
      assert.equal(res.status, 503);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      assert.match(res.body.detail, /store/);
    } finally {
      api.stores.healthy = storeHealthy;
    }
  });

  it('exposes request and message metrics labelled by route pattern', async () => {
    const u = await api.user();
    const other = await api.user();
    const c = await api.request('POST', '/v1/conversations', { token: u.token, body: { type: 'private', members: [other.user_id] } });
    const sent = await api.request('POST', '/v1/messages', { token: u.token, body: { conversation_id: c.body.conversation_id, payload: { type: 'text', text: 'count me' } } });
    await api.request('GET', `/v1/messages/${sent.body.message_id}`, { token: u.token });
    const res = await api.request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(res.text, /http_requests_total\{method="POST",route="\/v1\/messages",status="202"/);
    assert.match(res.text, /http_requests_total\{method="GET",route="\/v1\/messages\/:id",status="200"/);
    assert.doesNotMatch(res.text, new RegExp(sent.body.message_id));
    assert.match(res.text, /messages_accepted_total\{[^}]*\} 1\b/);
    assert.match(res.text, /kafka_publish_duration_seconds_count\{[^}]*\} 1\b/);
    assert.match(res.text, /http_request_duration_seconds_bucket/);
  });
});

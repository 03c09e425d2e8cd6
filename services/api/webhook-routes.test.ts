import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { startTestApi, type TestApi } from './test-api.ts';
import { createLogger } from '../core/logger.ts';
import { isoAt } from '../core/ports/clock.ts';
import { startWebhookDispatcher } from '../webhooks/dispatcher.ts';
import type { WebhookTransport } from '../webhooks/transport.ts';

// A public-looking literal address (TEST-NET-3): passes the URL policy without DNS, and nothing is sent to it.
const PUBLIC_URL = 'https://203.0.113.10/hooks/chat4all';

describe('webhook routes', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('creates a webhook with its secret once, lists it without, deletes it (204, then 404)', async () => {
    const u = await api.user('hooker');
    const created = await api.request('POST', '/v1/webhooks', {
      token: u.token,
      body: { url: PUBLIC_URL, events: ['message.delivered', 'message.read', 'message.failed'] },
    });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.webhook_id, /^wh_/);
    assert.match(created.body.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.body.events, ['message.delivered', 'message.read', 'message.failed']);
    assert.equal(created.headers.get('location'), `/v1/webhooks/${created.body.webhook_id}`);

    const given = await api.request('POST', '/v1/webhooks', {
      token: u.token,
      body: { url: PUBLIC_URL, events: ['message.read'], secret: 'my-own-secret-0123456789' },
    });
    assert.equal(given.status, 201);
    assert.equal(given.body.secret, 'my-own-secret-0123456789');

    const list = await api.request('GET', '/v1/webhooks', { token: u.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.webhooks.map((w: { webhook_id: string }) => w.webhook_id), [created.body.webhook_id, given.body.webhook_id]);
    assert.ok(list.body.webhooks.every((w: object) => !('secret' in w)), 'the list never shows a secret');
    assert.doesNotMatch(list.text, /whsec_|my-own-secret/);

    const del = await api.request('DELETE', `/v1/webhooks/${created.body.webhook_id}`, { token: u.token });
    assert.equal(del.status, 204);
    const again = await api.request('DELETE', `/v1/webhooks/${created.body.webhook_id}`, { token: u.token });
    assert.equal(again.status, 404);
    assert.match(again.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await api.request('GET', `/v1/webhooks/${created.body.webhook_id}/deliveries`, { token: u.token })).status, 404);
  });

  it('refuses bad URLs and bad events with a 400 naming the field', async () => {
    const u = await api.user('hooker');
    for (const url of [
      'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/', 'ftp://x', 'http://127.0.0.1:9/', 'http://localhost/',
      // IPv6 forms that carry loopback or the metadata address (#16): URL parsing rewrites them to hex.
      'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a9fe:a9fe]/', 'http://[::7f00:1]/', 'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:7f00:1::]/',
    ]) {
      const res = await api.request('POST', '/v1/webhooks', { token: u.token, body: { url, events: ['message.read'] } });
      assert.equal(res.status, 400, url);
      assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field), ['url'], url);
    }
    const badEvents = await api.request('POST', '/v1/webhooks', { token: u.token, body: { url: PUBLIC_URL, events: ['message.exploded'] } });
    assert.equal(badEvents.status, 400);
    assert.equal(badEvents.body.errors[0].field, 'events[0]');
    const empty = await api.request('POST', '/v1/webhooks', { token: u.token, body: { url: PUBLIC_URL, events: [] } });
    assert.equal(empty.status, 400);
    const shortSecret = await api.request('POST', '/v1/webhooks', { token: u.token, body: { url: PUBLIC_URL, events: ['message.read'], secret: 'short' } });
    assert.equal(shortSecret.status, 400);
    assert.equal((await api.request('GET', '/v1/webhooks')).status, 401);
  });

  it("answers 404 for another user's webhook", async () => {
    const owner = await api.user('owner');
    const other = await api.user('other');
    const created = await api.request('POST', '/v1/webhooks', { token: owner.token, body: { url: PUBLIC_URL, events: ['message.read'] } });
    const id = created.body.webhook_id;
    assert.equal((await api.request('DELETE', `/v1/webhooks/${id}`, { token: other.token })).status, 404);
    assert.equal((await api.request('GET', `/v1/webhooks/${id}/deliveries`, { token: other.token })).status, 404);
    assert.deepEqual((await api.request('GET', '/v1/webhooks', { token: other.token })).body.webhooks, []);
    assert.equal((await api.request('GET', `/v1/webhooks/${id}/deliveries`, { token: owner.token })).status, 200, 'still there for its owner');
  });

  it('lists delivery attempts with their status codes, newest first', async () => {
    const u = await api.user('sender');
    const created = await api.request('POST', '/v1/webhooks', { token: u.token, body: { url: PUBLIC_URL, events: ['message.delivered'] } });
    assert.equal(created.status, 201);

    // A message u sent, delivered on WhatsApp.
    const at = isoAt(Date.now());
    const conversation_id = randomUUID();
    const bob = randomUUID();
    await api.stores.conversations.createConversation({ conversation_id, type: 'private', members: [u.user_id, bob], name: null, metadata: null, created_at: at });
    const message_id = randomUUID();
    await api.stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: u.user_id, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: at,
    });
    const routed = await api.stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address: '+5511999990009' }], at);
    await api.stores.deliveries.applyStatus({ delivery_id: routed.deliveries[0]!.delivery_id, status: 'DELIVERED', at, source: 'provider' });

    // The receiver answers 502, then 204 (a stand-in transport: nothing leaves the machine).
    const answers = [502, 204];
    const transport: WebhookTransport = async () => ({ status: answers.shift() ?? 200 });
    let now = Date.now();
    const d = startWebhookDispatcher(
      { webhooks: api.stores.webhooks, clock: { now: () => now }, logger: createLogger('webhooks', 'silent'), registry: new Registry(), transport },
      { intervalMs: 3_600_000, random: () => 1 },
    );
    try {
      await d.tick();
      now += 1000;
      await d.tick();
    } finally {
      await d.stop();
    }

    const res = await api.request('GET', `/v1/webhooks/${created.body.webhook_id}/deliveries?limit=10`, { token: u.token });
    assert.equal(res.status, 200, res.text);
    const rows = res.body.deliveries as { status_code: number; attempt: number; result: string; type: string; message_id: string; event_id: string }[];
    assert.deepEqual(rows.map((r) => [r.attempt, r.status_code, r.result]), [[2, 204, 'success'], [1, 502, 'retry']]);
    assert.ok(rows.every((r) => r.type === 'message.delivered' && r.message_id === message_id && r.event_id === rows[0]!.event_id));
    assert.equal((await api.request('GET', `/v1/webhooks/${created.body.webhook_id}/deliveries?limit=0`, { token: u.token })).status, 400);
  });
});

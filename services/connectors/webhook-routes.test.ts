import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { StatusEvent } from '../core/domain/types.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { BusMessage } from '../core/ports/bus.ts';
import { TOPICS } from '../core/topics.ts';
import { createRouterMetrics } from '../router/metrics.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { applyStatus } from '../router/apply-status.ts';
import { createConnectorsApp } from './app.ts';
import { signMetaPayload } from './meta-signature.ts';
import { createConnectorMetrics } from './metrics.ts';
import { WhatsAppConnector } from './whatsapp-connector.ts';

const APP_SECRET = 'test-app-secret';
const WINDOW_MS = 60_000;
const MAX_BYTES = 8 * 1024;

/** A WhatsApp status webhook for one provider message id, at `atMs`. */
function statusWebhook(providerId: string, status: string, atMs: number) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'waba',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001', phone_number_id: '100000000000001' },
              statuses: [{ id: providerId, status, timestamp: String(Math.floor(atMs / 1000)), recipient_id: '5511999990001' }],
            },
          },
        ],
      },
    ],
  };
}

describe('provider webhook endpoint', () => {
  const stores = openSqliteStores(':memory:');
  const bus = new InMemoryBus(2, 10);
  const registry = createRegistry('connectors-test');
  const metrics = createConnectorMetrics(registry);
  const clock = { now: () => Date.now() };
  const logger = createLogger('connectors', 'silent');
  const connector = new WhatsAppConnector({ baseUrl: 'http://127.0.0.1:9', phoneNumberId: '100000000000001', accessToken: 't', appSecret: APP_SECRET, verifyToken: 'v' });
  const app = createConnectorsApp({
    config: { providerWebhookMaxBytes: MAX_BYTES, maxJsonDepth: 32, providerStatusMatchWindowMs: WINDOW_MS },
    ...stores,
    store: stores,
    bus,
    clock,
    logger,
    metrics,
    registry,
    connectors: new Map([['whatsapp', connector]]),
    acceptInbound: () => Promise.reject(new Error('this suite sends no inbound messages')),
  });
  const server = app.listen(0, '127.0.0.1');
  let url = '';
  const published: BusMessage[] = [];

  before(async () => {
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await bus.subscribe({ group: 'test', topics: [TOPICS.status], handler: async (m) => void published.push(m) });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await bus.close();
    await stores.close();
  });

  const post = (raw: string, signed = true) =>
    fetch(`${url}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signed ? { 'x-hub-signature-256': signMetaPayload(raw, APP_SECRET) } : {}) },
      body: raw,
    });
  const counter = async (reason: string) =>
    (await registry.getSingleMetric('provider_status_unmatched_total')!.get()).values.find((v) => v.labels.reason === reason && v.labels.channel === 'whatsapp')?.value ?? 0;

  async function assertProblem(res: Response, status: number) {
    assert.equal(res.status, status);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = (await res.json()) as { status: number; detail: string };
    assert.equal(body.status, status);
    return body;
  }

  it('answers 413 problem+json to a body over the limit', async () => {
    const raw = JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(MAX_BYTES) });
    const body = await assertProblem(await post(raw), 413);
    assert.match(body.detail, /8 KiB/);
  });

  it('answers 400 to a body nested deeper than the limit, before parsing it', async () => {
    const raw = `{"object":"whatsapp_business_account","entry":${'['.repeat(3000)}${']'.repeat(3000)}}`;
    assert.ok(raw.length < MAX_BYTES);
    await assertProblem(await post(raw), 400);
  });

  it('keeps answering 503 to a recent status it cannot match (the send may not be recorded yet)', async () => {
    await assertProblem(await post(JSON.stringify(statusWebhook(`wamid.${randomUUID()}`, 'delivered', Date.now()))), 503);
  });

  it('acknowledges and counts a status that still matches nothing after the match window', async () => {
    const before = await counter('unknown_message');
    const res = await post(JSON.stringify(statusWebhook(`wamid.${randomUUID()}`, 'delivered', Date.now() - WINDOW_MS - 5000)));
    assert.equal(res.status, 200);
    assert.equal((await counter('unknown_message')) - before, 1);
  });

  it('acknowledges and counts a status name it does not know', async () => {
    const before = await counter('unknown_status');
    const res = await post(JSON.stringify(statusWebhook(`wamid.${randomUUID()}`, 'deleted', Date.now())));
    assert.equal(res.status, 200);
    assert.equal((await counter('unknown_status')) - before, 1);
  });

  it('takes a replayed delivery twice without changing the outcome (statuses only move forward)', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const conversation_id = randomUUID();
    const message_id = randomUUID();
    const now = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: now });
    await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'], metadata: null, body_hash: 'h', trace_id: 't', created_at: now });
    const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+5511999990001' }], now);
    const delivery = routed.deliveries[0]!;
    const providerId = `wamid.${randomUUID()}`;
    assert.equal(await stores.deliveries.recordProviderRef(delivery.delivery_id, providerId), true);

    const raw = JSON.stringify(statusWebhook(providerId, 'delivered', Date.now()));
    const seen = published.length;
    for (let i = 0; i < 2; i++) assert.equal((await post(raw)).status, 200);
    const deadline = Date.now() + 2000;
    while (published.length < seen + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const events = published.slice(seen).map((m) => JSON.parse(m.value) as StatusEvent);
    assert.equal(events.length, 2, 'both deliveries are taken');

    const routerRegistry = createRegistry('router-test');
    const routerDeps = { ...stores, bus, clock, logger, metrics: createRouterMetrics(routerRegistry), deadLetterMetrics: createDeadLetterMetrics(routerRegistry), maxBatchBytes: 512 * 1024 };
    const applied = [];
    for (const e of events) applied.push(await applyStatus(routerDeps, e));
    assert.deepEqual(applied, [true, false], 'the replay changes nothing');
    const history = (await stores.messages.history(message_id)).filter((h) => h.status === 'DELIVERED');
    assert.equal(history.length, 1, 'one DELIVERED entry');
  });
});

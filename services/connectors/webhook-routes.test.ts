import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { BusMessage } from '../core/ports/bus.ts';
import type { MessageStatusEvent } from '../core/realtime-events.ts';
import { TOPICS } from '../core/topics.ts';
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
  const realtime: BusMessage[] = [];
  const statusTopic: BusMessage[] = [];
  const waitUntil = async (done: () => boolean) => {
    for (const deadline = Date.now() + 2000; !done() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  };

  before(async () => {
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await bus.subscribe({ group: 'test-realtime', topics: [TOPICS.realtime], handler: async (m) => void realtime.push(m) });
    await bus.subscribe({ group: 'test-status', topics: [TOPICS.status], handler: async (m) => void statusTopic.push(m) });
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

  /** A conversation with one WhatsApp delivery the provider accepted as `providerId`. */
  async function sentDelivery(providerId: string) {
    const [a, b] = [randomUUID(), randomUUID()];
    const conversation_id = randomUUID();
    const message_id = randomUUID();
    const now = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: now });
    await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'], metadata: null, body_hash: 'h', trace_id: `trace-${message_id}`, created_at: now });
    const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+5511999990001' }], now);
    const delivery = routed.deliveries[0]!;
    assert.equal(await stores.deliveries.recordProviderRef(delivery.delivery_id, providerId), true);
    return { delivery, message_id, conversation_id, members: [a, b] };
  }
  const realtimeOf = (messageId: string) =>
    realtime.filter((m) => (JSON.parse(m.value) as MessageStatusEvent).message_id === messageId).map((m) => ({ ...(JSON.parse(m.value) as MessageStatusEvent), trace_id: m.headers.trace_id }));

  it('applies a status before answering 200 and tells the gateways, with the trace id; a replay changes nothing', async () => {
    const providerId = `wamid.${randomUUID()}`;
    const { delivery, message_id, members } = await sentDelivery(providerId);
    const raw = JSON.stringify(statusWebhook(providerId, 'delivered', Date.now()));
    assert.equal((await post(raw)).status, 200);
    // The 200 means stored: no router, no topic in between.
    assert.equal((await stores.deliveries.getDelivery(delivery.delivery_id))!.status, 'DELIVERED');
    assert.equal((await post(raw)).status, 200);
    const history = (await stores.messages.history(message_id)).filter((h) => h.status === 'DELIVERED');
    assert.equal(history.length, 1, 'one DELIVERED entry');
    await waitUntil(() => realtimeOf(message_id).length >= 2);
    const pushed = realtimeOf(message_id);
    assert.deepEqual(pushed.map((p) => [p.type, p.status, p.trace_id]), [
      ['message.status', 'DELIVERED', `trace-${message_id}`],
      ['message.status', 'DELIVERED', `trace-${message_id}`],
    ], 'the replay tells the gateways again (the first try may have died before), who drop the repeat');
    assert.deepEqual(pushed[0]!.members, members);
    assert.equal(statusTopic.length, 0, 'provider statuses no longer go through the status topic');
  });

  it('applies every status of a multi-status webhook in order, then answers 503 for the one it cannot match yet', async () => {
    const providerId = `wamid.${randomUUID()}`;
    const { delivery, message_id } = await sentDelivery(providerId);
    const hook = statusWebhook(providerId, 'sent', Date.now());
    const value = hook.entry[0]!.changes[0]!.value;
    const at = String(Math.floor(Date.now() / 1000));
    value.statuses.push(
      { id: providerId, status: 'delivered', timestamp: at, recipient_id: '5511999990001' },
      { id: `wamid.${randomUUID()}`, status: 'delivered', timestamp: at, recipient_id: '5511999990002' },
      { id: providerId, status: 'read', timestamp: at, recipient_id: '5511999990001' },
    );
    await assertProblem(await post(JSON.stringify(hook)), 503);
    assert.equal((await stores.deliveries.getDelivery(delivery.delivery_id))!.status, 'READ');
    const history = (await stores.messages.history(message_id)).filter((h) => h.delivery_id === delivery.delivery_id).map((h) => h.status);
    assert.deepEqual(history, ['SENT', 'DELIVERED', 'READ']);
    // SENT changes nothing (the send already made the delivery SENT) but is at its status, so it is told too, as routers did.
    await waitUntil(() => realtimeOf(message_id).length >= 3);
    assert.deepEqual(realtimeOf(message_id).map((p) => p.status), ['SENT', 'DELIVERED', 'READ']);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { createConnectorsApp } from './app.ts';
import { signMetaPayload } from './meta-signature.ts';
import { createConnectorMetrics } from './metrics.ts';
import { webhookFastPath } from './webhook-fast-path.ts';
import { WhatsAppConnector } from './whatsapp-connector.ts';

const APP_SECRET = 'fast-path-secret';
const WINDOW_MS = 60_000;
const MAX_BYTES = 8 * 1024;

function statusWebhook(providerId: string, status: string, atMs: number) {
  const value = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550001', phone_number_id: '100000000000001' },
    statuses: [{ id: providerId, status, timestamp: String(Math.floor(atMs / 1000)), recipient_id: '5511999990001' }],
  };
  return { object: 'whatsapp_business_account', entry: [{ id: 'waba', changes: [{ field: 'messages', value }] }] };
}

interface Seen {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** One raw HTTP request, so a test chooses every header (and chunking) itself. */
function send(url: string, raw: string, headers: Record<string, string>, chunked = false): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(raw)) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const h = res.headers;
        const pick = (n: string) => (Array.isArray(h[n]) ? (h[n] as string[]).join(', ') : (h[n] as string | undefined));
        resolve({ status: res.statusCode ?? 0, headers: { 'content-type': pick('content-type'), 'content-length': pick('content-length'), etag: pick('etag'), 'retry-after': pick('retry-after') }, body });
      });
    });
    req.on('error', reject);
    if (chunked) req.write(raw.slice(0, 10));
    req.end(chunked ? raw.slice(10) : raw);
  });
}

describe('the fast path of POST /webhooks/{channel}', () => {
  const stores = openSqliteStores(':memory:');
  const bus = new InMemoryBus(2, 10);
  const registry = createRegistry('connectors-fast-path-test');
  const deps = {
    config: { providerWebhookMaxBytes: MAX_BYTES, maxJsonDepth: 32, providerStatusMatchWindowMs: WINDOW_MS },
    ...stores,
    store: stores,
    bus,
    clock: { now: () => Date.now() },
    logger: createLogger('connectors', 'silent'),
    metrics: createConnectorMetrics(registry),
    registry,
    connectors: new Map([['whatsapp', new WhatsAppConnector({ baseUrl: 'http://127.0.0.1:9', phoneNumberId: '100000000000001', accessToken: 't', appSecret: APP_SECRET, verifyToken: 'v' })]]),
    acceptInbound: () => Promise.reject(new Error('this suite sends no inbound messages')),
  };
  // The whole app: a query string keeps a request off the fast path, so it shows the Express route.
  const app = createConnectorsApp(deps);
  const full = app.listen(0, '127.0.0.1');
  // The fast path alone, over the same stores: a request it would leave to Express answers 599.
  const fastPath = webhookFastPath(deps);
  const fast: Server = createServer((req, res) => fastPath(req as never, res as never, () => void res.writeHead(599).end()));
  fast.listen(0, '127.0.0.1');
  let fullUrl = '';
  let fastUrl = '';

  before(async () => {
    await Promise.all([once(full, 'listening'), once(fast, 'listening')]);
    fullUrl = `http://127.0.0.1:${(full.address() as AddressInfo).port}/webhooks/whatsapp`;
    fastUrl = `http://127.0.0.1:${(fast.address() as AddressInfo).port}/webhooks/whatsapp`;
  });
  after(async () => {
    for (const s of [full, fast]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await bus.close();
    await stores.close();
  });

  const signed = (raw: string) => ({ 'content-type': 'application/json', 'x-hub-signature-256': signMetaPayload(raw, APP_SECRET) });

  /** The same request to the fast path and to the Express route: the same answer, header for header. */
  async function sideBySide(raw: string, headers: Record<string, string>): Promise<Seen> {
    const viaFast = await send(fastUrl, raw, headers);
    const viaExpress = await send(`${fullUrl}?route=express`, raw, headers);
    assert.notEqual(viaFast.status, 599, 'the fast path answered it');
    assert.deepEqual(viaFast, viaExpress);
    return viaFast;
  }

  it('answers a status of a recorded send 200, as the Express route does, and applies it', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const conversation_id = randomUUID();
    const message_id = randomUUID();
    const now = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: now });
    await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'], metadata: null, body_hash: 'h', trace_id: `trace-${message_id}`, created_at: now });
    const delivery = (await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+5511999990001' }], now)).deliveries[0]!;
    const providerId = `wamid.${randomUUID()}`;
    await stores.deliveries.recordProviderRef(delivery.delivery_id, providerId);
    const raw = JSON.stringify(statusWebhook(providerId, 'delivered', Date.now()));
    const seen = await sideBySide(raw, signed(raw));
    assert.equal(seen.status, 200);
    assert.deepEqual(JSON.parse(seen.body), { received: true });
    assert.equal((await stores.deliveries.getDelivery(delivery.delivery_id))!.status, 'DELIVERED');
  });

  it('answers the same problems: bad or missing signature, not JSON, nested too deep, a status not recorded yet', async () => {
    const hook = JSON.stringify(statusWebhook(`wamid.${randomUUID()}`, 'delivered', Date.now()));
    assert.equal((await sideBySide(hook, { ...signed(hook), 'x-hub-signature-256': signMetaPayload(hook, 'wrong') })).status, 401);
    assert.equal((await sideBySide(hook, { 'content-type': 'application/json' })).status, 401);
    const notJson = 'not json at all';
    assert.equal((await sideBySide(notJson, signed(notJson))).status, 400);
    const deep = `{"object":"whatsapp_business_account","entry":${'['.repeat(100)}${']'.repeat(100)}}`;
    assert.equal((await sideBySide(deep, signed(deep))).status, 400);
    const unknown = await sideBySide(hook, signed(hook));
    assert.equal(unknown.status, 503);
    assert.equal(unknown.headers['retry-after'], '1');
    assert.match(unknown.headers['content-type'] ?? '', /^application\/problem\+json/);
  });

  it('leaves the unusual to Express: a query string, chunked, encoded or too large bodies, other channels and methods', async () => {
    const raw = JSON.stringify(statusWebhook(`wamid.${randomUUID()}`, 'delivered', Date.now() - WINDOW_MS - 5000));
    const declined = async (seen: Promise<Seen>) => assert.equal((await seen).status, 599);
    await declined(send(`${fastUrl}?x=1`, raw, signed(raw)));
    await declined(send(fastUrl, raw, signed(raw), true));
    await declined(send(fastUrl, raw, { ...signed(raw), 'content-encoding': 'identity' }));
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_BYTES) });
    await declined(send(fastUrl, big, signed(big)));
    await declined(send(fastUrl.replace('whatsapp', 'telegram'), raw, signed(raw)));
    // And the Express route still takes what the fast path declines.
    assert.equal((await send(fullUrl, raw, signed(raw), true)).status, 200);
  });
});

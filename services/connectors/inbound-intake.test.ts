import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { acceptInbound, inboundMessageId } from '../core/inbound/accept-inbound.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import { createConnectorsApp } from './app.ts';
import { InstagramConnector } from './instagram-connector.ts';
import { signMetaPayload } from './meta-signature.ts';
import { createConnectorMetrics } from './metrics.ts';
import { WhatsAppConnector } from './whatsapp-connector.ts';

const APP_SECRET = 'test-app-secret';
const PHONE_NUMBER_ID = '100000000000002';

/** A WhatsApp messages webhook from `from` with the given `messages[]` items. */
function whatsAppWebhook(from: string, messages: unknown[]) {
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
              metadata: { display_phone_number: '15550000000', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Maria' }, wa_id: from }],
              messages,
            },
          },
        ],
      },
    ],
  };
}
const text = (from: string, id: string, body: string, seconds = 1_700_000_000) => ({ from, id, timestamp: String(seconds), type: 'text', text: { body } });
const newPhone = () => `5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

describe('inbound webhooks: durable before 200', () => {
  const stores = openSqliteStores(':memory:');
  // The store fails `acceptMessage` for the provider message ids listed here, as a full disk would.
  const failFor = new Set<string>();
  const messages: MessageStore = Object.create(stores.messages, {
    acceptMessage: {
      value: (m: Parameters<MessageStore['acceptMessage']>[0]) => {
        const pmid = (m.metadata as { inbound?: { provider_message_id?: string } } | null)?.inbound?.provider_message_id;
        return pmid && failFor.has(pmid) ? Promise.reject(new Error('SQLITE_FULL: database or disk is full')) : stores.messages.acceptMessage(m);
      },
    },
  });
  const bus = new InMemoryBus(2, 10);
  const registry = createRegistry('connectors-test');
  const metrics = createConnectorMetrics(registry);
  const clock = { now: () => Date.now() };
  const logger = createLogger('connectors', 'silent');
  const whatsapp = new WhatsAppConnector({ baseUrl: 'http://127.0.0.1:9', phoneNumberId: PHONE_NUMBER_ID, accessToken: 't', appSecret: APP_SECRET, verifyToken: 'v' });
  // Instagram webhooks carry no name: the plug-in's profile lookup gives it.
  const instagram = new (class extends InstagramConnector {
    override profileName = async (igsid: string) => (igsid.startsWith('IGSID-named') ? 'Ivo Santos' : undefined);
  })({ baseUrl: 'http://127.0.0.1:9', accessToken: 't', appSecret: APP_SECRET, verifyToken: 'v' });
  const deps = { ...stores, messages, bus, clock, logger };
  const app = createConnectorsApp({
    config: { providerWebhookMaxBytes: 64 * 1024, maxJsonDepth: 32, providerStatusMatchWindowMs: 60_000 },
    ...deps,
    store: stores,
    metrics,
    registry,
    connectors: new Map<string, WhatsAppConnector | InstagramConnector>([
      ['whatsapp', whatsapp],
      ['instagram', instagram],
    ]),
    acceptInbound: (m) => acceptInbound({ ...deps, settings: { defaultMembers: { whatsapp: ['owner-wa'], instagram: ['owner-wa'] }, replyWindowMs: 86_400_000 } }, m),
  });
  const server = app.listen(0, '127.0.0.1');
  let url = '';

  before(async () => {
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await stores.users.createUser({ user_id: 'u-owner', username: 'owner-wa', password_hash: 'x', created_at: new Date().toISOString() });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await bus.close();
    await stores.close();
  });

  const post = (channel: string, payload: unknown) => {
    const raw = JSON.stringify(payload);
    return fetch(`${url}/webhooks/${channel}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaPayload(raw, APP_SECRET) },
      body: raw,
    });
  };
  const count = async (name: string, labels: Record<string, string>) =>
    (await registry.getSingleMetric(name)!.get()).values
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);

  it('stores the message before answering 200; the same webhook twice makes one message', async () => {
    const from = newPhone();
    const id = `wamid.${randomUUID()}`;
    const accepted = await count('inbound_messages_total', { channel: 'whatsapp', type: 'text', result: 'accepted' });
    const duplicates = await count('inbound_messages_total', { channel: 'whatsapp', type: 'text', result: 'duplicate' });
    const body = whatsAppWebhook(from, [text(from, id, 'Oi, é a Maria')]);
    assert.equal((await post('whatsapp', body)).status, 200);
    const stored = await stores.messages.getMessage(inboundMessageId('whatsapp', id));
    assert.deepEqual(stored?.payload, { type: 'text', text: 'Oi, é a Maria' });
    assert.equal((await post('whatsapp', body)).status, 200);
    const unrouted = await stores.messages.listUnroutedIn(stored!.conversation_id);
    assert.deepEqual(unrouted.map((m) => m.message_id), [stored!.message_id]);
    assert.equal((await count('inbound_messages_total', { channel: 'whatsapp', type: 'text', result: 'accepted' })) - accepted, 1);
    assert.equal((await count('inbound_messages_total', { channel: 'whatsapp', type: 'text', result: 'duplicate' })) - duplicates, 1);
    // The contact is named from the provider profile.
    assert.equal((await stores.contacts.getContact(stored!.sender_id))?.display_name, 'Maria');
  });

  it('answers 503 with Retry-After when one message of a webhook cannot be stored; the retry makes no duplicate', async () => {
    const from = newPhone();
    const [first, second] = [`wamid.${randomUUID()}`, `wamid.${randomUUID()}`];
    const body = whatsAppWebhook(from, [text(from, first, 'primeira', 1_700_000_001), text(from, second, 'segunda', 1_700_000_002)]);
    failFor.add(second);
    const before = await count('connector_webhooks_total', { channel: 'whatsapp', result: 'inbound_not_durable' });
    const res = await post('whatsapp', body);
    assert.equal(res.status, 503);
    assert.equal((await count('connector_webhooks_total', { channel: 'whatsapp', result: 'inbound_not_durable' })) - before, 1);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.ok(await stores.messages.getMessage(inboundMessageId('whatsapp', first)), 'the first is durable already');
    assert.equal(await stores.messages.getMessage(inboundMessageId('whatsapp', second)), null);

    failFor.delete(second);
    assert.equal((await post('whatsapp', body)).status, 200);
    const one = (await stores.messages.getMessage(inboundMessageId('whatsapp', first)))!;
    assert.deepEqual(
      (await stores.messages.listUnroutedIn(one.conversation_id)).map((m) => m.payload),
      [
        { type: 'text', text: 'primeira' },
        { type: 'text', text: 'segunda' },
      ],
    );
  });

  it('acknowledges an event it will not take, counting its reason', async () => {
    const from = newPhone();
    const before = await count('inbound_refused_total', { channel: 'whatsapp', reason: 'system_event' });
    const system = { from, id: `wamid.${randomUUID()}`, timestamp: '1700000000', type: 'system', system: { body: 'changed number', type: 'user_changed_number' } };
    assert.equal((await post('whatsapp', whatsAppWebhook(from, [system]))).status, 200);
    assert.equal((await count('inbound_refused_total', { channel: 'whatsapp', reason: 'system_event' })) - before, 1);
    assert.equal(await stores.messages.getMessage(inboundMessageId('whatsapp', system.id)), null);
  });

  it('a reaction or an unsend names our message when the platform knows the one it is about', async () => {
    const from = newPhone();
    const original = `wamid.${randomUUID()}`;
    assert.equal((await post('whatsapp', whatsAppWebhook(from, [text(from, original, 'oi')]))).status, 200);
    const reactionId = `wamid.${randomUUID()}`;
    const reaction = { from, id: reactionId, timestamp: '1700000005', type: 'reaction', reaction: { message_id: original, emoji: '👍' } };
    const unknownTarget = { from, id: `wamid.${randomUUID()}`, timestamp: '1700000006', type: 'reaction', reaction: { message_id: 'wamid.NOT-OURS', emoji: '👍' } };
    assert.equal((await post('whatsapp', whatsAppWebhook(from, [reaction, unknownTarget]))).status, 200);
    assert.deepEqual((await stores.messages.getMessage(inboundMessageId('whatsapp', reactionId)))?.payload, {
      type: 'reaction',
      reacts_to: { provider_message_id: original, message_id: inboundMessageId('whatsapp', original) },
      emoji: '👍',
    });
    assert.deepEqual((await stores.messages.getMessage(inboundMessageId('whatsapp', unknownTarget.id)))?.payload, {
      type: 'reaction',
      reacts_to: { provider_message_id: 'wamid.NOT-OURS' },
      emoji: '👍',
    });
  });

  it('an Instagram image attachment is stored as provider media, from a contact named by the profile lookup', async () => {
    const mid = `mid.${randomUUID()}`;
    const event = {
      object: 'instagram',
      entry: [
        {
          id: '17841400000000001',
          time: 1700000000000,
          messaging: [
            {
              sender: { id: `IGSID-named-${randomUUID()}` },
              recipient: { id: '17841400000000001' },
              timestamp: 1700000000000,
              message: { mid, attachments: [{ type: 'image', payload: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1' } }] },
            },
          ],
        },
      ],
    };
    assert.equal((await post('instagram', event)).status, 200);
    const stored = (await stores.messages.getMessage(inboundMessageId('instagram', mid)))!;
    assert.deepEqual(stored.payload, {
      type: 'media',
      media: { kind: 'image', url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1' },
    });
    assert.equal((await stores.contacts.getContact(stored.sender_id))?.display_name, 'Ivo Santos');
  });
});

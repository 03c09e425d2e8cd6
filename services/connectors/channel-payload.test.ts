import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { forChannel } from './channel-payload.ts';
import { drainConversation } from './deliver.ts';
import { createConnectorMetrics } from './metrics.ts';

describe('what a channel is sent for a payload', () => {
  it('a text and a file as they are; what only an external user can send as its text', () => {
    assert.deepEqual(forChannel({ type: 'text', text: 'oi' }), { type: 'text', text: 'oi' });
    assert.deepEqual(forChannel({ type: 'file', file_id: 'f1', caption: 'c' }), { type: 'file', file_id: 'f1', caption: 'c' });
    assert.deepEqual(forChannel({ type: 'media', media: { kind: 'image', provider_media_id: '1481234' }, caption: 'a praia' }), { type: 'text', text: '[an image] a praia' });
    assert.deepEqual(forChannel({ type: 'reaction', reacts_to: { provider_message_id: 'wamid.X' }, emoji: '❤️' }), { type: 'text', text: '[reacted ❤️ to a message]' });
    assert.deepEqual(forChannel({ type: 'location', latitude: -23.55, longitude: -46.63, name: 'Sé' }), { type: 'text', text: '[location: Sé] -23.55, -46.63' });
  });

  it("a WhatsApp photo reaches an Instagram member as text, not as a file the provider cannot fetch", async () => {
    const stores = openSqliteStores(':memory:');
    try {
      const [maria, bob, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const now = new Date().toISOString();
      await stores.conversations.createConversation({ conversation_id, type: 'private', members: [maria, bob], name: null, metadata: null, created_at: now });
      await stores.messages.acceptMessage({
        message_id,
        conversation_id,
        sender_id: maria,
        payload: { type: 'media', media: { kind: 'image', provider_media_id: '1481234', mime_type: 'image/jpeg' }, caption: 'a praia' },
        channels: ['all'],
        metadata: null,
        body_hash: 'h',
        trace_id: 't',
        created_at: now,
      });
      await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'instagram', address: '17841400000000077' }], now);
      const sent: unknown[] = [];
      const connector = {
        channel: 'instagram',
        sendText: async (to: string, text: string) => (sent.push({ to, text }), { provider_message_id: 'mid.1' }),
        sendFile: async () => assert.fail('a provider media id is no file to send'),
      } as unknown as ChannelConnector;
      const outcome = await drainConversation(
        {
          ...stores,
          clock: { now: () => Date.now() },
          logger: createLogger('connectors', 'silent'),
          metrics: createConnectorMetrics(createRegistry('connectors-test')),
          connectors: new Map([['instagram', connector]]),
          files: {
            files: stores.files,
            objects: { presignGet: async () => assert.fail('a provider media id has no object to link') },
            providerUrlTtlSeconds: 3600,
            linkFallbackTtlSeconds: 3600,
          },
          inDoubtGraceMs: 1000,
          inDoubtShortGraceMs: 1000,
          startedAt: Date.now(),
          maxAgeMs: 60_000,
          backoff: { baseMs: 10, maxMs: 100 },
          attempts: new Map(),
        },
        conversation_id,
        'instagram',
        Infinity,
      );
      assert.equal(outcome, 'sent');
      assert.deepEqual(sent, [{ to: '17841400000000077', text: '[an image] a praia' }]);
    } finally {
      await stores.close();
    }
  });
});

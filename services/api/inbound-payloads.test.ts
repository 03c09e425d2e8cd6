import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './test-api.ts';

describe('inbound-only payloads in the API', () => {
  let api: TestApi;
  let a: Awaited<ReturnType<TestApi['user']>>;
  let conversationId: string;

  before(async () => {
    api = await startTestApi();
    a = await api.user('alice');
    const b = await api.user('bob');
    conversationId = (await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } })).body.conversation_id;
  });
  after(async () => {
    await api.close();
  });

  it('a client cannot send what only an external user can (media, reaction, location, unsupported…): 400', async () => {
    for (const payload of [
      { type: 'media', media: { kind: 'image', provider_media_id: '1481234' } },
      { type: 'reaction', reacts_to: { provider_message_id: 'wamid.X' }, emoji: '👍' },
      { type: 'location', latitude: 1, longitude: 2 },
      { type: 'unsupported', reason: 'x' },
    ]) {
      const res = await api.request('POST', '/v1/messages', { token: a.token, body: { conversation_id: conversationId, payload } });
      assert.equal(res.status, 400, JSON.stringify(payload));
    }
  });

  it('a message that came in with one reads back with it, and the OpenAPI document describes it', async () => {
    const message_id = randomUUID();
    const payload = { type: 'media' as const, media: { kind: 'image' as const, provider_media_id: '1481234', mime_type: 'image/jpeg', sha256: 'ab' }, caption: 'a praia' };
    await api.stores.messages.acceptMessage({
      message_id,
      conversation_id: conversationId,
      sender_id: a.user_id,
      payload,
      channels: ['all'],
      metadata: null,
      body_hash: 'h',
      trace_id: 't',
      created_at: new Date().toISOString(),
    });
    const res = await api.request('GET', `/v1/messages/${message_id}`, { token: a.token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.payload, payload);
    const doc = (await api.request('GET', '/openapi.json')).body;
    const inbound = JSON.stringify(doc.components.schemas.InboundPayload);
    for (const type of ['media', 'location', 'contacts', 'reaction', 'edit', 'deletion', 'unsupported']) assert.ok(inbound.includes(`"${type}"`), type);
    assert.ok(!JSON.stringify(doc.components.schemas.Payload).includes('"reaction"'), 'the send payload stays text and file');
  });
});

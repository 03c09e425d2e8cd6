import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiClient, eventually } from '../../test/support/api-client.ts';
import { startTestPlatform } from '../../test/support/embedded.ts';
import { startTestReceiver } from './test-receiver.ts';
import { verifyWebhook } from './verify.ts';

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;

describe('webhooks on the embedded platform', () => {
  let platform: Platform;
  let receiver: Awaited<ReturnType<typeof startTestReceiver>>;

  before(async () => {
    // The receiver is on loopback, which only an operator's allowance opens.
    platform = await startTestPlatform({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    receiver = await startTestReceiver([200]);
  });
  after(async () => {
    await receiver?.close();
    await platform?.stop();
  });

  it('tells the sender that the WhatsApp delivery was delivered, then read', async () => {
    const anon = new ApiClient(platform.apiUrl);
    const alice = await anon.newUser('alice');
    const bob = await anon.newUser('bob');
    const phone = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    assert.equal((await bob.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: phone })).status, 201);
    const conv = await alice.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [bob.userId] });
    assert.equal(conv.status, 201);
    const created = await alice.client.call<{ webhook_id: string; secret: string }>('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['message.delivered', 'message.read'],
    });
    assert.equal(created.status, 201);
    const webhook = created.body;

    const sent = await alice.client.call<{ message_id: string }>('POST', '/v1/messages', {
      conversation_id: conv.body.conversation_id,
      channels: ['whatsapp'],
      payload: { type: 'text', text: 'Olá, Bob!' },
    });
    assert.equal(sent.status, 202);
    const id = sent.body.message_id;

    const ofMessage = () => receiver.received.filter((c) => c.body.message_id === id);
    await eventually(async () => ofMessage().some((c) => c.body.type === 'message.read'), 'the message.read callback', 20000);

    const callbacks = ofMessage();
    assert.deepEqual(callbacks.map((c) => c.body.type), ['message.delivered', 'message.read']);
    for (const c of callbacks) {
      assert.equal(c.body.channel, 'whatsapp');
      assert.equal(c.body.recipient_id, bob.userId);
      assert.equal(c.body.conversation_id, conv.body.conversation_id);
      assert.equal(verifyWebhook(c.rawBody, c.headers, webhook.secret).valid, true);
    }
    assert.deepEqual(callbacks.map((c) => c.body.status), ['DELIVERED', 'READ']);
    assert.equal(new Set(callbacks.map((c) => c.body.event_id)).size, 2);

    const attempts = await alice.client.call<{ deliveries: { status_code: number }[] }>('GET', `/v1/webhooks/${webhook.webhook_id}/deliveries`);
    assert.equal(attempts.status, 200);
    assert.deepEqual(attempts.body.deliveries.map((d) => d.status_code), [200, 200]);
  });

  it('tells a recipient once that a message arrived (message.received)', async () => {
    const anon = new ApiClient(platform.apiUrl);
    const alice = await anon.newUser('alice');
    const bob = await anon.newUser('bob');
    const created = await bob.client.call<{ secret: string }>('POST', '/v1/webhooks', { url: receiver.url, events: ['message.received'] });
    assert.equal(created.status, 201);
    const conv = await alice.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [bob.userId] });
    const sent = await alice.client.call<{ message_id: string }>('POST', '/v1/messages', {
      conversation_id: conv.body.conversation_id,
      payload: { type: 'text', text: 'are you there?' },
    });
    assert.equal(sent.status, 202);
    const ofMessage = () => receiver.received.filter((c) => c.body.message_id === sent.body.message_id);
    await eventually(async () => ofMessage().length > 0, 'the message.received callback', 20000);
    // Bob reads it: a later status makes no second message.received.
    assert.equal((await bob.client.call('POST', `/v1/messages/${sent.body.message_id}/read`)).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const callbacks = ofMessage();
    assert.deepEqual(callbacks.map((c) => [c.body.type, c.body.recipient_id, c.body.sender_id]), [['message.received', bob.userId, alice.userId]]);
    assert.equal(verifyWebhook(callbacks[0]!.rawBody, callbacks[0]!.headers, created.body.secret).valid, true);
  });
});

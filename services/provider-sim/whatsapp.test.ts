import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { verifyWebhookSignature } from './signature.ts';
import {
  call,
  provider,
  startMediaServer,
  startReceiver,
  startSim,
  TEST_SECRET,
  waitFor,
  waText,
  webhooksIdle,
  type MediaServer,
  type RunningSim,
  type WebhookReceiver,
  waStatuses,
} from './test-support.ts';

describe('WhatsApp Cloud API', () => {
  let run: RunningSim;
  let receiver: WebhookReceiver;
  let sendUrl: string;
  let media: MediaServer;

  before(async () => {
    media = await startMediaServer();
    media.serve('/a.pdf', { size: 1000, contentType: 'application/pdf' });
    media.serve('/a.png', { size: 1000, contentType: 'image/png' });
    receiver = await startReceiver();
    run = await startSim();
    sendUrl = `${run.url}/v21.0/106540352242922/messages`;
  });
  after(async () => {
    await run.stop();
    await receiver.close();
    await media.close();
  });
  beforeEach(async () => {
    await call('POST', `${run.url}/_sim/reset`);
    await call('POST', `${run.url}/_sim/config`, { webhook_urls: { whatsapp: receiver.url } });
    receiver.requests.length = 0;
  });

  test('accepts a text and answers with contacts and a wamid', async () => {
    const res = await provider(sendUrl, waText('+5511999999999', 'hello'));
    assert.equal(res.status, 200);
    assert.equal(res.body.messaging_product, 'whatsapp');
    assert.deepEqual(res.body.contacts, [{ input: '+5511999999999', wa_id: '5511999999999' }]);
    assert.match(res.body.messages[0].id, /^wamid\.[A-Za-z0-9+/=]+$/);
    const received = (await call('GET', `${run.url}/_sim/received`)).body;
    assert.equal(received.total, 1);
    assert.equal(received.received[0].to, '5511999999999');
    assert.equal(received.received[0].text, 'hello');
    assert.equal(received.received[0].provider_message_id, res.body.messages[0].id);
    assert.ok(!Number.isNaN(Date.parse(received.received[0].at)));
  });

  test('emits signed sent, delivered and read status webhooks in order', async () => {
    const res = await provider(sendUrl, waText('5511988887777', 'status please'));
    const wamid = res.body.messages[0].id;
    await waitFor('three status webhooks', () => receiver.requests.length >= 3);
    await webhooksIdle(run);
    assert.equal(receiver.requests.length, 3);
    for (const hook of receiver.requests) {
      assert.equal(hook.headers['content-type'], 'application/json');
      assert.ok(verifyWebhookSignature(hook.raw, hook.headers['x-hub-signature-256'] as string, TEST_SECRET), 'signature verifies');
      assert.ok(!verifyWebhookSignature(hook.raw, hook.headers['x-hub-signature-256'] as string, 'other-secret'));
      assert.equal(hook.body.object, 'whatsapp_business_account');
      assert.equal(hook.body.entry[0].changes[0].field, 'messages');
      assert.equal(hook.body.entry[0].changes[0].value.metadata.phone_number_id, '106540352242922');
    }
    const statuses = waStatuses(receiver.requests);
    assert.deepEqual(statuses.map((s) => s.status), ['sent', 'delivered', 'read']);
    for (const s of statuses) {
      assert.equal(s.id, wamid);
      assert.equal(s.recipient_id, '5511988887777');
      assert.match(s.timestamp, /^\d{10}$/);
    }
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp;
    assert.equal(stats.webhooks.sent, 3);
    assert.equal(stats.webhooks.attempts, 3);
  });

  test('without auto-read, emits sent and delivered only', async () => {
    await call('POST', `${run.url}/_sim/config`, { auto_read: false });
    await provider(sendUrl, waText('5511988887777', 'no read'));
    await webhooksIdle(run);
    const statuses = waStatuses(receiver.requests).map((s) => s.status);
    assert.deepEqual(statuses, ['sent', 'delivered']);
  });

  test('echoes biz_opaque_callback_data in every signed status webhook and lists it as reference', async () => {
    const res = await provider(sendUrl, { ...(waText('5511988887777', 'tracked') as object), biz_opaque_callback_data: 'delivery-123' });
    assert.equal(res.status, 200);
    const wamid = res.body.messages[0].id;
    await webhooksIdle(run);
    assert.equal(receiver.requests.length, 3);
    for (const hook of receiver.requests) {
      assert.ok(verifyWebhookSignature(hook.raw, hook.headers['x-hub-signature-256'] as string, TEST_SECRET));
    }
    const statuses = waStatuses(receiver.requests);
    assert.deepEqual(statuses.map((s) => [s.status, s.id, s.biz_opaque_callback_data]), [
      ['sent', wamid, 'delivery-123'],
      ['delivered', wamid, 'delivery-123'],
      ['read', wamid, 'delivery-123'],
    ]);
    const [entry] = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(entry.reference, 'delivery-123');
  });

  test('echoes biz_opaque_callback_data of a media send too; a send without it has no such key', async () => {
    await call('POST', `${run.url}/_sim/config`, { auto_read: false });
    const send = { messaging_product: 'whatsapp', to: '5511999999999', type: 'document', document: { link: `${media.url}/a.pdf` }, biz_opaque_callback_data: 'd-7' };
    assert.equal((await provider(sendUrl, send)).status, 200);
    await webhooksIdle(run);
    assert.deepEqual(waStatuses(receiver.requests).map((s) => s.biz_opaque_callback_data), ['d-7', 'd-7']);
    receiver.requests.length = 0;
    await provider(sendUrl, waText('5511999999999', 'untracked'));
    await webhooksIdle(run);
    assert.equal(receiver.requests.length, 2);
    assert.ok(waStatuses(receiver.requests).every((s) => !('biz_opaque_callback_data' in s)));
    const received = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.deepEqual(received.map((m: { reference?: string }) => m.reference), ['d-7', undefined]);
  });

  test('accepts biz_opaque_callback_data of exactly 512 characters', async () => {
    const res = await provider(sendUrl, { ...(waText('5511999999999', 'x') as object), biz_opaque_callback_data: '😀'.repeat(512) });
    assert.equal(res.status, 200);
  });

  test('accepts media by link or id, with a caption of 1024 characters', async () => {
    const image = await provider(sendUrl, { messaging_product: 'whatsapp', to: '5511999999999', type: 'image', image: { link: `${media.url}/a.png`, caption: 'c'.repeat(1024) } });
    assert.equal(image.status, 200);
    const doc = await provider(sendUrl, { messaging_product: 'whatsapp', to: '5511999999999', type: 'document', document: { id: '1234', filename: 'a.pdf' } });
    assert.equal(doc.status, 200);
    const received = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(received[0].type, 'image');
    assert.equal(received[0].media.link, `${media.url}/a.png`);
    assert.deepEqual(received[1].media, { id: '1234', filename: 'a.pdf' });
  });

  test('accepts a text body of exactly 4096 characters, emoji counted as one', async () => {
    const res = await provider(sendUrl, waText('5511999999999', '😀'.repeat(4096)));
    assert.equal(res.status, 200);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['no messaging_product', { to: '5511999999999', type: 'text', text: { body: 'x' } }, /messaging_product is required/],
    ['wrong messaging_product', { messaging_product: 'sms', to: '5511999999999', text: { body: 'x' } }, /messaging_product/],
    ['recipient too short', waText('1234567', 'x'), /Param to/],
    ['recipient with letters', waText('55119999abcd', 'x'), /Param to/],
    ['recipient too long', waText('1234567890123456', 'x'), /Param to/],
    ['text of 4097 characters', waText('5511999999999', 'a'.repeat(4097)), /at most 4096/],
    ['empty text', waText('5511999999999', ''), /text\[body\]/],
    ['caption of 1025 characters', { messaging_product: 'whatsapp', to: '5511999999999', type: 'image', image: { link: 'https://x.example/a.png', caption: 'c'.repeat(1025) } }, /caption/],
    ['image without link or id', { messaging_product: 'whatsapp', to: '5511999999999', type: 'image', image: {} }, /link or id/],
    ['unsupported type', { messaging_product: 'whatsapp', to: '5511999999999', type: 'sticker', sticker: { id: '1' } }, /Param type/],
    ['a JSON array', [], /JSON object/],
    ['biz_opaque_callback_data of 513 characters', { ...(waText('5511999999999', 'x') as object), biz_opaque_callback_data: 'r'.repeat(513) }, /biz_opaque_callback_data/],
    ['biz_opaque_callback_data not a string', { ...(waText('5511999999999', 'x') as object), biz_opaque_callback_data: 7 }, /biz_opaque_callback_data/],
  ];
  for (const [name, body, details] of invalid) {
    test(`rejects ${name} with 400 code 100 and logs nothing`, async () => {
      const res = await provider(sendUrl, body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 100);
      assert.equal(res.body.error.type, 'OAuthException');
      assert.match(res.body.error.error_data.details, details);
      assert.match(res.body.error.fbtrace_id, /^[A-Za-z0-9_-]{11}$/);
      assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
    });
  }

  test('answers malformed JSON with 400 code 100, not 500', async () => {
    const res = await provider(sendUrl, '{"messaging_product": "whatsapp", ');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 100);
  });

  test('answers a body over 1 MB with 413 code 100, and a GET on the send path with the 404 problem', async () => {
    const big = await provider(sendUrl, waText('5511999999999', 'x'.repeat(1024 * 1024)));
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 100);
    const get = await call('GET', sendUrl);
    assert.equal(get.status, 404);
    assert.equal(get.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });

  test('answers 401 code 190 without the right bearer token', async () => {
    const missing = await call('POST', sendUrl, waText('5511999999999', 'x'));
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 190);
    const wrong = await provider(sendUrl, waText('5511999999999', 'x'), 'stolen-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 190);
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp;
    assert.equal(stats.rejected['190'], 2);
    assert.equal(stats.accepted, 0);
  });

  test('answers 131026 for a recipient configured as undeliverable, with or without +', async () => {
    await call('POST', `${run.url}/_sim/config`, { undeliverable: { whatsapp: ['+5511900000000'] } });
    const res = await provider(sendUrl, waText('5511900000000', 'anyone there?'));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 131026);
    assert.match(res.body.error.message, /Message Undeliverable/);
    assert.equal((await provider(sendUrl, waText('+5511900000001', 'other'))).status, 200);
    await webhooksIdle(run);
    assert.equal(receiver.requests.length, 3, 'only the deliverable message has statuses');
    assert.ok(waStatuses(receiver.requests).every((s) => s.recipient_id === '5511900000001'));
  });

  test('answers a mark-as-read call with success and logs no message', async () => {
    const res = await provider(sendUrl, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.abc' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { success: true });
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
  });

  test('rejects an unknown API version with 400 code 100', async () => {
    const res = await provider(`${run.url}/latest/106540352242922/messages`, waText('5511999999999', 'x'));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 100);
  });
});

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
  webhooksIdle,
  type MediaServer,
  type RunningSim,
  type WebhookReceiver,
  igEvents,
} from './test-support.ts';

const ACCOUNT = '17841400000000077';

describe('Instagram Messaging API', () => {
  let run: RunningSim;
  let receiver: WebhookReceiver;
  let sendUrl: string;
  let media: MediaServer;

  before(async () => {
    media = await startMediaServer();
    media.serve('/p.png', { size: 1000, contentType: 'image/png' });
    media.serve('/v.mp4', { size: 1000, contentType: 'video/mp4' });
    receiver = await startReceiver();
    run = await startSim({ instagram: { accountId: ACCOUNT } });
    sendUrl = `${run.url}/v21.0/me/messages`;
  });
  after(async () => {
    await run.stop();
    await receiver.close();
    await media.close();
  });
  beforeEach(async () => {
    await call('POST', `${run.url}/_sim/reset`);
    await call('POST', `${run.url}/_sim/config`, { webhook_urls: { instagram: receiver.url } });
    receiver.requests.length = 0;
  });

  test('accepts a text and emits a signed message echo then a messaging_seen read event, no delivered', async () => {
    const res = await provider(sendUrl, { recipient: { id: '6543210987' }, message: { text: 'oi' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.recipient_id, '6543210987');
    assert.match(res.body.message_id, /^mid\.[A-Za-z0-9_-]+$/);
    await waitFor('the echo and the read event', () => receiver.requests.length >= 2);
    await webhooksIdle(run);
    assert.equal(receiver.requests.length, 2);
    for (const hook of receiver.requests) {
      assert.ok(verifyWebhookSignature(hook.raw, hook.headers['x-hub-signature-256'] as string, TEST_SECRET));
      assert.equal(hook.body.object, 'instagram');
      assert.equal(hook.body.entry[0].id, ACCOUNT);
      assert.equal(typeof hook.body.entry[0].time, 'number');
    }
    const [echo, read] = igEvents(receiver.requests);
    assert.deepEqual(echo.sender, { id: ACCOUNT });
    assert.deepEqual(echo.recipient, { id: '6543210987' });
    assert.equal(typeof echo.timestamp, 'number');
    assert.deepEqual(echo.message, { mid: res.body.message_id, is_echo: true, text: 'oi' }, 'no metadata key without metadata');
    assert.deepEqual(read.sender, { id: '6543210987' });
    assert.deepEqual(read.recipient, { id: ACCOUNT });
    assert.deepEqual(read.read, { mid: res.body.message_id });
  });

  test('echoes message.metadata in the signed echo webhook and lists it as reference', async () => {
    const res = await provider(sendUrl, { recipient: { id: '6543210987' }, message: { text: 'tracked', metadata: 'delivery-123' } });
    assert.equal(res.status, 200);
    await webhooksIdle(run);
    const echoEvent = igEvents(receiver.requests).find((e) => e.message?.is_echo === true);
    assert.ok(echoEvent, 'an echo webhook arrived');
    const echoHook = receiver.requests.find((h) => igEvents([h]).includes(echoEvent))!;
    assert.ok(verifyWebhookSignature(echoHook.raw, echoHook.headers['x-hub-signature-256'] as string, TEST_SECRET));
    assert.deepEqual(echoEvent?.message, { mid: res.body.message_id, is_echo: true, text: 'tracked', metadata: 'delivery-123' });
    const readEvent = igEvents(receiver.requests).find((e) => e.read !== undefined);
    assert.deepEqual(readEvent?.read, { mid: res.body.message_id }, 'the read event is unchanged');
    const [entry] = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(entry.reference, 'delivery-123');
    assert.equal(entry.provider_message_id, res.body.message_id);
  });

  test('echoes an attachment as attachments[] with its metadata', async () => {
    const url = `${media.url}/p.png`;
    const res = await provider(sendUrl, { recipient: { id: '42' }, message: { attachment: { type: 'image', payload: { url } }, metadata: 'd-9' } });
    assert.equal(res.status, 200);
    await webhooksIdle(run);
    const echo = igEvents(receiver.requests).find((e) => e.message?.is_echo);
    assert.deepEqual(echo.message, { mid: res.body.message_id, is_echo: true, attachments: [{ type: 'image', payload: { url } }], metadata: 'd-9' });
  });

  test('validates message.metadata: a string of at most 1000 characters, else 400 code 100', async () => {
    const fits = await provider(sendUrl, { recipient: { id: '1' }, message: { text: 'a', metadata: '€'.repeat(1000) } });
    assert.equal(fits.status, 200);
    for (const metadata of ['x'.repeat(1001), 42, { id: 'x' }]) {
      const bad = await provider(sendUrl, { recipient: { id: '1' }, message: { text: 'a', metadata } });
      assert.equal(bad.status, 400, JSON.stringify(metadata).slice(0, 20));
      assert.equal(bad.body.error.code, 100);
      assert.match(bad.body.error.message, /metadata/);
    }
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 1);
  });

  test('without auto-read emits the echo only; duplicate mode sends echo and read twice', async () => {
    await call('POST', `${run.url}/_sim/config`, { auto_read: false });
    await provider(sendUrl, { recipient: { id: '1' }, message: { text: 'a', metadata: 'r1' } });
    await webhooksIdle(run);
    assert.deepEqual(igEvents(receiver.requests).map((e) => e.message?.metadata), ['r1']);
    receiver.requests.length = 0;
    await call('POST', `${run.url}/_sim/config`, { auto_read: true, duplicate: true });
    await provider(sendUrl, { recipient: { id: '1' }, message: { text: 'b', metadata: 'r2' } });
    await webhooksIdle(run);
    const kinds = igEvents(receiver.requests).map((e) => (e.read ? 'read' : e.message.metadata));
    assert.deepEqual(kinds, ['r2', 'r2', 'read', 'read']);
  });

  test('limits text to 1000 UTF-8 bytes, not characters', async () => {
    const fits = await provider(sendUrl, { recipient: { id: '1' }, message: { text: '€'.repeat(333) } }); // 999 bytes
    assert.equal(fits.status, 200);
    const tooLong = await provider(sendUrl, { recipient: { id: '1' }, message: { text: '€'.repeat(334) } }); // 334 chars, 1002 bytes
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.code, 100);
    assert.equal((await call('GET', `${run.url}/_sim/received?channel=instagram`)).body.total, 1);
  });

  test('accepts attachments and rejects an unknown attachment type', async () => {
    const ok = await provider(sendUrl, { recipient: { id: '1' }, message: { attachment: { type: 'video', payload: { url: `${media.url}/v.mp4` } } } });
    assert.equal(ok.status, 200);
    const bad = await provider(sendUrl, { recipient: { id: '1' }, message: { attachment: { type: 'sticker', payload: { url: 'https://cdn.example.com/s' } } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 100);
    const [entry] = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(entry.type, 'video');
    assert.equal(entry.media.link, `${media.url}/v.mp4`);
  });

  test('rejects a body without recipient or message with code 100', async () => {
    assert.equal((await provider(sendUrl, { message: { text: 'x' } })).body.error.code, 100);
    assert.equal((await provider(sendUrl, { recipient: { id: '1' } })).body.error.code, 100);
    assert.equal((await provider(sendUrl, { recipient: { id: '1' }, message: { text: 'a', attachment: {} } })).body.error.code, 100);
  });

  test('answers 551 for an undeliverable recipient', async () => {
    await call('POST', `${run.url}/_sim/config`, { undeliverable: { instagram: ['999'] } });
    const res = await provider(sendUrl, { recipient: { id: '999' }, message: { text: 'hi' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 551);
    assert.equal((await call('GET', `${run.url}/_sim/stats`)).body.instagram.rejected['551'], 1);
  });

  test('routes /{ig_id}/messages to Instagram, by configured id or by body shape', async () => {
    const byId = await provider(`${run.url}/v21.0/${ACCOUNT}/messages`, { recipient: { id: '5' }, message: { text: 'a' } });
    assert.equal(byId.status, 200);
    const byShape = await provider(`${run.url}/v21.0/17841499999999999/messages`, { recipient: { id: '5' }, message: { text: 'b' } });
    assert.equal(byShape.status, 200);
    assert.ok(byShape.body.message_id.startsWith('mid.'));
    await webhooksIdle(run);
    // Events due together share a POST (one entry per account): count events, not POSTs.
    const entryIds = receiver.requests.flatMap((h) => h.body.entry.flatMap((e: { id: string; messaging: unknown[] }) => e.messaging.map(() => e.id))).sort();
    assert.deepEqual(entryIds, [ACCOUNT, ACCOUNT, '17841499999999999', '17841499999999999'].sort(), 'an echo and a read event each');
  });

  test('answers a sender_action with the recipient id and logs no message', async () => {
    const res = await provider(sendUrl, { recipient: { id: '5' }, sender_action: 'typing_on' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { recipient_id: '5' });
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
  });
});

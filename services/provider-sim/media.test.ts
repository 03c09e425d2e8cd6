import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MIB } from './media-limits.ts';
import {
  call,
  mediaSha256,
  provider,
  startMediaServer,
  startReceiver,
  startSim,
  waitFor,
  webhooksIdle,
  type MediaServer,
  type RunningSim,
  type WebhookReceiver,
  waStatuses,
} from './test-support.ts';

/** A loopback URL on a port nothing listens on. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/gone.pdf`;
}

describe('media by link: the simulator fetches it and enforces Meta limits', () => {
  let run: RunningSim;
  let receiver: WebhookReceiver;
  let media: MediaServer;
  let waUrl: string;
  let igUrl: string;

  before(async () => {
    media = await startMediaServer();
    receiver = await startReceiver();
    run = await startSim({ mediaFetchTimeoutMs: 5000 });
    waUrl = `${run.url}/v21.0/100000000000002/messages`;
    igUrl = `${run.url}/v21.0/me/messages`;
  });
  after(async () => {
    await run.stop();
    await receiver.close();
    await media.close();
  });
  beforeEach(async () => {
    await call('POST', `${run.url}/_sim/reset`);
    await call('POST', `${run.url}/_sim/config`, { webhook_urls: { whatsapp: receiver.url, instagram: receiver.url }, auto_read: false });
    receiver.requests.length = 0;
  });

  const waMedia = (type: string, link: string, extra: Record<string, unknown> = {}) => ({
    messaging_product: 'whatsapp',
    to: '5511999999999',
    type,
    [type]: { link, ...extra },
  });
  const igAttachment = (type: string, url: string) => ({ recipient: { id: '6543210987' }, message: { attachment: { type, payload: { url } } } });
  const statusesOf = waStatuses;

  test('WhatsApp document: fetched, its size and sha256 shown in /_sim/received, then sent and delivered', async () => {
    const link = media.serve('/report.pdf', { size: 300_000, contentType: 'application/pdf' });
    const res = await provider(waUrl, waMedia('document', link, { filename: 'report.pdf', caption: 'Q3' }));
    assert.equal(res.status, 200);
    const [entry] = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(entry.type, 'document');
    assert.deepEqual(entry.media, {
      link,
      caption: 'Q3',
      filename: 'report.pdf',
      fetched: { size: 300_000, sha256: mediaSha256(300_000), content_type: 'application/pdf' },
    });
    await waitFor('sent and delivered', () => receiver.requests.length >= 2);
    await webhooksIdle(run);
    assert.deepEqual(statusesOf(receiver.requests).map((s) => s.status), ['sent', 'delivered']);
  });

  test('WhatsApp image of exactly 5 MiB is taken; one byte more fails with 131053 in a failed status, not in the answer', async () => {
    const fits = media.serve('/fits.jpg', { size: 5 * MIB, contentType: 'image/jpeg' });
    const over = media.serve('/over.jpg', { size: 5 * MIB + 1, contentType: 'image/jpeg' });
    assert.equal((await provider(waUrl, waMedia('image', fits))).status, 200);
    const res = await provider(waUrl, waMedia('image', over));
    assert.equal(res.status, 200, 'the Cloud API accepts the call and fails the message later');
    await webhooksIdle(run);
    const failed = statusesOf(receiver.requests).filter((s) => s.id === res.body.messages[0].id);
    assert.equal(failed.length, 1, 'only a failed status, no sent');
    assert.equal(failed[0].status, 'failed');
    assert.equal(failed[0].errors[0].code, 131053);
    assert.equal(failed[0].errors[0].title, 'Media upload error');
    assert.match(failed[0].errors[0].error_data.details, /Max file size we currently support: 5MB/);
    const received = (await call('GET', `${run.url}/_sim/received`)).body.received;
    assert.equal(received[0].media.fetched.size, 5 * MIB);
    assert.equal(received[1].media.fetch_error.code, 131053);
    assert.equal(received[1].media.fetch_error.reason, 'too_large');
    assert.equal(received[1].media.fetched, undefined);
  });

  test('WhatsApp video over 16 MiB and a link answering 404 both fail with 131053', async () => {
    const big = media.serve('/big.mp4', { size: 16 * MIB + 1, contentType: 'video/mp4' });
    const missing = `${media.url}/missing.pdf`;
    const a = await provider(waUrl, waMedia('video', big));
    const b = await provider(waUrl, waMedia('document', missing));
    await webhooksIdle(run);
    const byId = new Map(statusesOf(receiver.requests).map((s) => [s.id, s]));
    assert.equal(byId.get(a.body.messages[0].id)?.status, 'failed');
    assert.match(byId.get(b.body.messages[0].id)?.errors[0].error_data.details, /http code 404/);
  });

  test('WhatsApp image whose link serves a type Meta does not take as an image fails with 131053', async () => {
    const webp = media.serve('/a.webp', { size: 1000, contentType: 'image/webp' });
    const res = await provider(waUrl, waMedia('image', webp));
    await webhooksIdle(run);
    const [status] = statusesOf(receiver.requests).filter((s) => s.id === res.body.messages[0].id);
    assert.equal(status.status, 'failed');
    assert.match(status.errors[0].error_data.details, /image\/webp/);
  });

  test('Instagram image: fetched and echoed; the received entry has its size and sha256', async () => {
    const url = media.serve('/photo.png', { size: 8 * MIB, contentType: 'image/png' });
    const res = await provider(igUrl, igAttachment('image', url));
    assert.equal(res.status, 200);
    const [entry] = (await call('GET', `${run.url}/_sim/received?channel=instagram`)).body.received;
    assert.deepEqual(entry.media, { link: url, fetched: { size: 8 * MIB, sha256: mediaSha256(8 * MIB), content_type: 'image/png' } });
  });

  test('Instagram refuses at once: over the limit 2018109, unreachable 2018008, wrong type 2018047; none is received', async () => {
    const big = media.serve('/big.mov', { size: 25 * MIB + 1, contentType: 'video/quicktime' });
    const tooBig = await provider(igUrl, igAttachment('video', big));
    assert.equal(tooBig.status, 400);
    assert.equal(tooBig.body.error.code, 100);
    assert.equal(tooBig.body.error.error_subcode, 2018109);
    assert.equal(tooBig.body.error.message, '(#100) Attachment size exceeds allowable limit');

    const unreachable = await provider(igUrl, igAttachment('file', await closedPortUrl()));
    assert.equal(unreachable.status, 400);
    assert.equal(unreachable.body.error.error_subcode, 2018008);
    assert.equal(unreachable.body.error.message, '(#100) Failed to fetch the file from the url');

    const pdfAsImage = media.serve('/doc.pdf', { size: 10, contentType: 'application/pdf' });
    const wrongType = await provider(igUrl, igAttachment('image', pdfAsImage));
    assert.equal(wrongType.body.error.error_subcode, 2018047);

    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
  });

  test('the same media sent twice under links signed at different times counts as a duplicate', async () => {
    const link = media.serve('/same.pdf', { size: 100, contentType: 'application/pdf' });
    await provider(waUrl, waMedia('document', `${link}?X-Amz-Date=20260101T000000Z&X-Amz-Signature=aa`));
    await provider(waUrl, waMedia('document', `${link}?X-Amz-Date=20260101T000005Z&X-Amz-Signature=bb`));
    const report = (await call('GET', `${run.url}/_sim/received`)).body;
    assert.equal(report.total, 2);
    assert.equal(report.duplicates, 1);
  });

  test('a fetch that takes longer than the bound is a failure, not a hang', async () => {
    const slow = await startSim({ mediaFetchTimeoutMs: 200 });
    const sockets = new Set<import('node:net').Socket>();
    const hanging = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/slow.png`;
      const started = Date.now();
      const res = await provider(`${slow.url}/v21.0/me/messages`, igAttachment('image', url));
      assert.equal(res.body.error.error_subcode, 2018008);
      assert.ok(Date.now() - started < 3000, 'answered within the bound');
    } finally {
      await slow.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalS3, type LocalS3 } from '../../services/lib/local-s3.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { startTestPlatform } from '../support/embedded.ts';
import { testFileBytes } from '../support/ready-file.ts';

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
interface Received {
  type: string;
  text?: string;
  media?: { link?: string; caption?: string; filename?: string; fetched?: { size: number; sha256: string; content_type: string } };
}
interface MessageView {
  deliveries: { channel: string; status: string; error?: { code: string; message: string } }[];
  history: { status: string; channel?: string; fallback?: string; reason?: string }[];
}

/**
 * A file uploaded through the API and sent as a message through the whole embedded platform to
 * both channels of the simulator, the bytes in a local S3.
 */
describe('file messages on the embedded platform', () => {
  let dir: string;
  let s3: LocalS3;
  let platform: Platform;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-file-messages-'));
    s3 = await startLocalS3({ directory: dir, port: 0 });
    // The API makes the bucket at start.
    platform = await startTestPlatform({ S3_ENDPOINT: s3.endpoint, S3_BUCKET: `t-${randomBytes(4).toString('hex')}` });
  });
  after(async () => {
    await platform?.stop();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Alice and Bob in a private conversation; Bob has a WhatsApp and an Instagram identity. */
  async function pair() {
    const anon = new ApiClient(platform.apiUrl);
    const alice = await anon.newUser('alice');
    const bob = await anon.newUser('bob');
    const wa = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const ig = `1784${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
    assert.equal((await bob.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: wa })).status, 201);
    assert.equal((await bob.client.call('POST', '/v1/users/me/identities', { channel: 'instagram', address: ig })).status, 201);
    const conv = await alice.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [bob.userId] });
    assert.equal(conv.status, 201);
    return { alice, wa, ig, conversationId: conv.body.conversation_id };
  }

  /** Uploads a file the way clients do: start the session, PUT each part to its presigned URL, report ETags, complete. */
  async function upload(client: ApiClient, conversationId: string, file: { filename: string; contentType: string; size: number }) {
    const bytes = testFileBytes(file.size);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const started = await client.call<{ file_id: string; part_size: number; part_count: number }>('POST', '/v1/files', {
      filename: file.filename, size: file.size, content_type: file.contentType, sha256, conversation_id: conversationId,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const { file_id, part_size } = started.body;
    const urls = await client.call<{ urls: { part_number: number; url: string }[] }>('POST', `/v1/files/${file_id}/parts`, {});
    assert.equal(urls.status, 200, JSON.stringify(urls.body));
    for (const { part_number, url } of urls.body.urls) {
      const part = bytes.subarray((part_number - 1) * part_size, part_number * part_size);
      const put = await fetch(url, { method: 'PUT', body: new Uint8Array(part), signal: AbortSignal.timeout(30_000) });
      assert.equal(put.status, 200);
      const recorded = await client.call('PUT', `/v1/files/${file_id}/parts/${part_number}`, { etag: put.headers.get('etag') });
      assert.equal(recorded.status, 200, JSON.stringify(recorded.body));
    }
    const done = await client.call<{ state: string }>('POST', `/v1/files/${file_id}/complete`);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.state, 'ready');
    return { file_id, sha256 };
  }

  async function sendFile(p: Awaited<ReturnType<typeof pair>>, file: { file_id: string }, caption: string) {
    const sent = await p.alice.client.call<{ message_id: string }>('POST', '/v1/messages', {
      conversation_id: p.conversationId,
      channels: ['whatsapp', 'instagram'],
      payload: { type: 'file', file_id: file.file_id, caption },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    return sent.body.message_id;
  }

  const receivedOn = (query: string) =>
    eventually(async () => {
      const r = (await new ApiClient(platform.simUrl!).call<{ received: Received[] }>('GET', `/_sim/received?${query}`)).body.received;
      return r.length > 0 && r;
    }, query);

  it('a PDF reaches WhatsApp as a document and Instagram as a file, the simulator fetching the uploaded bytes', async () => {
    const p = await pair();
    const { alice, wa, ig } = p;
    const file = await upload(alice.client, p.conversationId, { filename: 'contract.pdf', contentType: 'application/pdf', size: 150_000 });
    const messageId = await sendFile(p, file, 'Signed');
    const [waGot] = await receivedOn(`channel=whatsapp&to=${encodeURIComponent(wa)}`);
    assert.equal(waGot!.type, 'document');
    assert.equal(waGot!.media?.caption, 'Signed');
    assert.equal(waGot!.media?.filename, 'contract.pdf');
    assert.deepEqual(waGot!.media?.fetched, { size: 150_000, sha256: file.sha256, content_type: 'application/pdf' });
    const [igGot] = await receivedOn(`channel=instagram&to=${ig}`);
    assert.equal(igGot!.type, 'file');
    assert.deepEqual(igGot!.media?.fetched, { size: 150_000, sha256: file.sha256, content_type: 'application/pdf' });

    const view = await eventually(async () => {
      const r = await alice.client.call<MessageView>('GET', `/v1/messages/${messageId}`);
      return r.body.deliveries.every((d) => d.status === 'READ') && r.body;
    }, 'both deliveries read');
    assert.ok(view.history.every((h) => h.fallback === undefined), 'sent as media, no fallback');
  });

  it('a 6 MB photo is over the WhatsApp image limit: a download link there, an image on Instagram, and the history says so', async () => {
    const p = await pair();
    const file = await upload(p.alice.client, p.conversationId, { filename: 'poster.jpg', contentType: 'image/jpeg', size: 6 * 1024 * 1024 });
    const messageId = await sendFile(p, file, 'The poster');
    const [waGot] = await receivedOn(`channel=whatsapp&to=${encodeURIComponent(p.wa)}`);
    assert.equal(waGot!.type, 'text');
    assert.match(waGot!.text ?? '', /^The poster\n\n📎 poster\.jpg \(6 MB\): http/);
    const [igGot] = await receivedOn(`channel=instagram&to=${p.ig}`);
    assert.equal(igGot!.type, 'image');
    assert.equal(igGot!.media?.fetched?.sha256, file.sha256);
    const view = await eventually(async () => {
      const r = await p.alice.client.call<MessageView>('GET', `/v1/messages/${messageId}`);
      return r.body.history.some((h) => h.fallback) && r.body;
    }, 'the fallback in the history');
    assert.deepEqual(
      view.history.filter((h) => h.fallback).map((h) => [h.channel, h.fallback, h.reason]),
      [['whatsapp', 'link', 'over_channel_limit']],
    );
  });

  it('a file whose bytes are gone: both deliveries fail with Meta media errors (WhatsApp 131053 by webhook, Instagram 100 at once)', async () => {
    const p = await pair();
    const file = await upload(p.alice.client, p.conversationId, { filename: 'gone.pdf', contentType: 'application/pdf', size: 1000 });
    const record = await platform.adapters.files.getFile(file.file_id);
    await platform.adapters.objects.removeObject(record!.object_key);
    const messageId = await sendFile(p, file, 'Too late');
    const view = await eventually(async () => {
      const r = await p.alice.client.call<MessageView>('GET', `/v1/messages/${messageId}`);
      return r.body.deliveries.every((d) => d.status === 'FAILED') && r.body;
    }, 'both deliveries failed');
    const errors = Object.fromEntries(view.deliveries.map((d) => [d.channel, d.error?.code]));
    assert.deepEqual(errors, { whatsapp: '131053', instagram: '100' });
  });
});

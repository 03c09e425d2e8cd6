import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalS3, type LocalS3 } from '../../services/lib/local-s3.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { startTestPlatform } from '../support/embedded.ts';
import { putReadyFile } from '../support/ready-file.ts';

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
interface Received {
  type: string;
  text?: string;
  media?: { link?: string; caption?: string; filename?: string; fetched?: { size: number; sha256: string; content_type: string } };
}
interface MessageView {
  deliveries: { channel: string; status: string }[];
  history: { status: string; channel?: string; fallback?: string; reason?: string }[];
}

/** A file message through the whole embedded platform to both channels of the simulator, bytes in a local S3. */
describe('file messages on the embedded platform', () => {
  let dir: string;
  let s3: LocalS3;
  let platform: Platform;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-file-messages-'));
    s3 = await startLocalS3({ directory: dir, port: 0 });
    platform = await startTestPlatform({ S3_ENDPOINT: s3.endpoint, S3_BUCKET: `t-${randomBytes(4).toString('hex')}` });
    await platform.adapters.objects.ensureBucket();
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
    const file = await putReadyFile(platform.adapters, {
      conversationId: p.conversationId,
      uploaderId: alice.userId,
      filename: 'contract.pdf',
      contentType: 'application/pdf',
      size: 150_000,
    });
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
    const file = await putReadyFile(platform.adapters, {
      conversationId: p.conversationId,
      uploaderId: p.alice.userId,
      filename: 'poster.jpg',
      contentType: 'image/jpeg',
      size: 6 * 1024 * 1024,
    });
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
});

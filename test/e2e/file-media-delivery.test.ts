import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InstagramConnector } from '../../services/connectors/instagram-connector.ts';
import { WhatsAppConnector } from '../../services/connectors/whatsapp-connector.ts';
import { drainConversation, type DeliverDeps } from '../../services/connectors/deliver.ts';
import { createConnectorMetrics } from '../../services/connectors/metrics.ts';
import { MIB } from '../../services/connectors/channel-media.ts';
import { S3ObjectStore } from '../../services/core/adapters/s3/s3-object-store.ts';
import { openSqliteStores } from '../../services/core/adapters/sqlite/open-sqlite-stores.ts';
import type { ExternalChannel } from '../../services/core/domain/types.ts';
import { createLogger } from '../../services/core/logger.ts';
import { systemClock } from '../../services/core/ports/clock.ts';
import type { Stores } from '../../services/core/ports/stores.ts';
import { LOCAL_S3_KEYS, startLocalS3, type LocalS3 } from '../../services/lib/local-s3.ts';
import { startReceiver, startSim, TEST_SECRET, TEST_TOKEN, webhooksIdle, type RunningSim, type WebhookReceiver } from '../../services/provider-sim/test-support.ts';
import { putReadyFile } from '../support/ready-file.ts';

/**
 * File messages from the connectors to the provider simulator, with the bytes in a real local S3
 * (s3rver): the connectors presign a link, the simulator fetches it and enforces Meta's limits.
 */
describe('file messages: connectors → simulator, bytes in a local S3', () => {
  let dir: string;
  let s3: LocalS3;
  let objects: S3ObjectStore;
  let stores: Stores;
  let run: RunningSim;
  let receiver: WebhookReceiver;
  let deps: DeliverDeps;
  let whatsapp: WhatsAppConnector;
  let registry: Registry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-files-media-'));
    s3 = await startLocalS3({ directory: dir, port: 0 });
    objects = new S3ObjectStore({ endpoint: s3.endpoint, bucket: `t-${randomBytes(4).toString('hex')}`, region: 'us-east-1', ...LOCAL_S3_KEYS });
    await objects.ensureBucket();
    stores = openSqliteStores(':memory:');
    receiver = await startReceiver();
    run = await startSim({ webhookUrls: { whatsapp: receiver.url }, autoRead: false, mediaFetchTimeoutMs: 5000 });
    whatsapp = new WhatsAppConnector({ baseUrl: run.url, phoneNumberId: '100000000000002', accessToken: TEST_TOKEN, appSecret: TEST_SECRET, verifyToken: 'v' });
    const instagram = new InstagramConnector({ baseUrl: run.url, accessToken: TEST_TOKEN, appSecret: TEST_SECRET, verifyToken: 'v' });
    registry = new Registry();
    deps = {
      messages: stores.messages,
      deliveries: stores.deliveries,
      clock: systemClock,
      logger: createLogger('connectors', process.env.TEST_LOG_LEVEL ?? 'silent'),
      metrics: createConnectorMetrics(registry),
      connectors: new Map<string, WhatsAppConnector | InstagramConnector>([
        ['whatsapp', whatsapp],
        ['instagram', instagram],
      ]),
      files: { files: stores.files, objects, providerUrlTtlSeconds: 3600, linkFallbackTtlSeconds: 7 * 24 * 3600 },
      inDoubtGraceMs: 5000,
      inDoubtShortGraceMs: 5000,
      startedAt: Date.now(),
      maxAgeMs: 3_600_000,
      backoff: { baseMs: 100, maxMs: 1000 },
      attempts: new Map(),
    };
  });
  after(async () => {
    await run?.stop();
    await receiver?.close();
    await stores?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A conversation of a sender and a recipient, a ready file in it, and a file message routed to one channel. */
  async function sendFile(channel: ExternalChannel, file: { filename: string; contentType: string; size: number; caption?: string; withoutObject?: boolean }) {
    const [sender, recipient, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await stores.conversations.createConversation({
      conversation_id, type: 'private', members: [sender, recipient], name: null, metadata: null, created_at: new Date().toISOString(),
    });
    const ready = await putReadyFile({ files: stores.files, objects }, { conversationId: conversation_id, uploaderId: sender, ...file });
    await stores.messages.acceptMessage({
      message_id,
      conversation_id,
      sender_id: sender,
      payload: { type: 'file', file_id: ready.file_id, ...(file.caption !== undefined ? { caption: file.caption } : {}) },
      channels: [channel],
      metadata: null,
      body_hash: message_id,
      trace_id: 't',
      created_at: new Date().toISOString(),
    });
    const address = channel === 'whatsapp' ? `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` : `1784${randomBytes(5).readUIntBE(0, 5)}`;
    const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: recipient, channel, address }], new Date().toISOString());
    const outcome = await drainConversation(deps, conversation_id, channel, Infinity);
    const delivery = (await stores.deliveries.getDelivery(routed.deliveries[0]!.delivery_id))!;
    const received = (await fetch(`${run.url}/_sim/received?channel=${channel}&to=${encodeURIComponent(address)}`).then((r) => r.json())) as {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the simulator's listing, asserted on named fields
      received: any[];
    };
    return { ready, outcome, delivery, received: received.received, history: await stores.messages.history(message_id) };
  }

  it('a WhatsApp document: the simulator fetched exactly the uploaded bytes, with the caption and file name', async () => {
    const { ready, outcome, delivery, received, history } = await sendFile('whatsapp', {
      filename: 'report.pdf', contentType: 'application/pdf', size: 200_000, caption: 'Q3 report',
    });
    assert.equal(outcome, 'sent');
    assert.equal(received.length, 1);
    const [got] = received;
    assert.equal(got.type, 'document');
    assert.equal(got.media.caption, 'Q3 report');
    assert.equal(got.media.filename, 'report.pdf');
    assert.deepEqual(got.media.fetched, { size: 200_000, sha256: ready.sha256, content_type: 'application/pdf' });
    assert.match(got.media.link, /X-Amz-Signature=/, 'a presigned link to the object store');
    assert.equal(delivery.provider_message_id, got.provider_message_id);
    assert.ok(history.every((h) => h.fallback === undefined), 'no fallback');
  });

  it('an Instagram image goes as an image attachment the simulator fetched whole', async () => {
    const { ready, outcome, received } = await sendFile('instagram', { filename: 'photo.png', contentType: 'image/png', size: 3 * MIB });
    assert.equal(outcome, 'sent');
    assert.equal(received.length, 1);
    assert.equal(received[0].type, 'image');
    assert.deepEqual(received[0].media.fetched, { size: 3 * MIB, sha256: ready.sha256, content_type: 'image/png' });
  });

  it('a video over the WhatsApp limit goes as the caption and a download link, and the history says so', async () => {
    const size = 16 * MIB + 1;
    const { outcome, delivery, received, history } = await sendFile('whatsapp', { filename: 'launch.mp4', contentType: 'video/mp4', size, caption: 'The launch' });
    assert.equal(outcome, 'sent');
    assert.equal(received.length, 1);
    assert.equal(received[0].type, 'text', 'a text, not a video');
    assert.equal(received[0].media, undefined);
    const text: string = received[0].text;
    assert.match(text, /^The launch\n\n📎 launch\.mp4 \(16 MB\): http/);
    const link = text.slice(text.indexOf('http'));
    assert.match(link, /X-Amz-Expires=604800/, 'the link lives FILE_LINK_FALLBACK_TTL (7 days)');
    // The link in the text is a working download of the whole file.
    const download = await fetch(link);
    assert.equal(download.status, 200);
    assert.equal((await download.arrayBuffer()).byteLength, size);
    assert.equal(delivery.status, 'SENT');
    assert.equal(delivery.provider_message_id, received[0].provider_message_id);
    const note = history.find((h) => h.fallback !== undefined);
    assert.deepEqual(note && { fallback: note.fallback, reason: note.reason, status: note.status, channel: note.channel }, {
      fallback: 'link', reason: 'over_channel_limit', status: 'SENT', channel: 'whatsapp',
    });
    assert.match(await registry.metrics(), /connector_media_fallbacks_total\{channel="whatsapp",reason="over_channel_limit"\} 1/);
  });

  it('a link that does not resolve is a delivery error: Instagram refuses the send, WhatsApp reports a failed status (131053)', async () => {
    const ig = await sendFile('instagram', { filename: 'gone.pdf', contentType: 'application/pdf', size: 1000, withoutObject: true });
    assert.equal(ig.outcome, 'failed');
    assert.equal(ig.delivery.status, 'FAILED');
    assert.equal(ig.delivery.error?.code, '100');
    assert.match(ig.delivery.error?.message ?? '', /Failed to fetch the file from the url/);
    assert.equal(ig.received.length, 0);

    receiver.requests.length = 0;
    const wa = await sendFile('whatsapp', { filename: 'gone.pdf', contentType: 'application/pdf', size: 1000, withoutObject: true });
    assert.equal(wa.outcome, 'sent', 'the Cloud API takes the call and fails the message afterwards');
    await webhooksIdle(run);
    const statuses = receiver.requests.flatMap((r) => whatsapp.parseWebhook({ rawBody: Buffer.from(r.raw), headers: r.headers }).statuses);
    assert.deepEqual(
      statuses.map((s) => [s.provider_message_id, s.status, s.error?.code]),
      [[wa.delivery.provider_message_id, 'FAILED', '131053']],
    );
    assert.match(statuses[0]!.error!.message, /Media upload error: Downloading media from weblink failed with http code 404/);
  });

  it('a file that is not ready is a permanent delivery error, and nothing is sent', async () => {
    const [sender, recipient, conversation_id, message_id] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await stores.conversations.createConversation({
      conversation_id, type: 'private', members: [sender, recipient], name: null, metadata: null, created_at: new Date().toISOString(),
    });
    const ready = await putReadyFile({ files: stores.files, objects }, { conversationId: conversation_id, uploaderId: sender, filename: 'x.pdf', contentType: 'application/pdf', size: 10 });
    // A file that was verified corrupt.
    const corrupt = `fil_${randomBytes(12).toString('hex')}`;
    await stores.files.createFile({ ...ready, file_id: corrupt, state: 'uploading' });
    await stores.files.transition(corrupt, 'uploading', 'verifying');
    await stores.files.transition(corrupt, 'verifying', 'corrupt');
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: sender, payload: { type: 'file', file_id: corrupt }, channels: ['whatsapp'],
      metadata: null, body_hash: message_id, trace_id: 't', created_at: new Date().toISOString(),
    });
    const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: recipient, channel: 'whatsapp', address: '+5511912345678' }], new Date().toISOString());
    const before = (await fetch(`${run.url}/_sim/stats`).then((r) => r.json())) as { whatsapp: { requests: number } };
    assert.equal(await drainConversation(deps, conversation_id, 'whatsapp', Infinity), 'failed');
    const delivery = (await stores.deliveries.getDelivery(routed.deliveries[0]!.delivery_id))!;
    assert.equal(delivery.status, 'FAILED');
    assert.equal(delivery.error?.code, 'file_not_ready');
    const afterStats = (await fetch(`${run.url}/_sim/stats`).then((r) => r.json())) as { whatsapp: { requests: number } };
    assert.equal(afterStats.whatsapp.requests, before.whatsapp.requests, 'no provider call');
  });
});

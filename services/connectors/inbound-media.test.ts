import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { S3ObjectStore } from '../core/adapters/s3/s3-object-store.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { acceptInbound, inboundMessageId, type InboundMessage } from '../core/inbound/accept-inbound.ts';
import { inboundOrigin } from '../core/inbound/inbound-origin.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { Message } from '../core/domain/types.ts';
import { LOCAL_S3_KEYS, startLocalS3, type LocalS3 } from '../lib/local-s3.ts';
import { startSim, TEST_SECRET, TEST_TOKEN, type RunningSim } from '../provider-sim/test-support.ts';
import { createConnectorsApp } from './app.ts';
import { inboundFileId, inboundMediaStorer } from './inbound-media.ts';
import { InstagramConnector } from './instagram-connector.ts';
import { createConnectorMetrics } from './metrics.ts';
import { WhatsAppConnector } from './whatsapp-connector.ts';

/**
 * Inbound media end to end at the connector: the simulator posts a signed webhook naming a media
 * it serves the way Meta does, the connectors' webhook fetches it, streams it into a real s3rver
 * and the message becomes a file message of a `ready` file.
 */
describe('inbound media: fetched from the provider and stored as a file', () => {
  const stores = openSqliteStores(':memory:');
  const bus = new InMemoryBus(2, 10);
  const registry = createRegistry('connectors-test');
  const metrics = createConnectorMetrics(registry);
  const clock = { now: () => Date.now() };
  const logger = createLogger('connectors', 'silent');
  const settings = { defaultMembers: { whatsapp: ['alice'], instagram: ['alice'] }, replyWindowMs: 3_600_000 };
  let dir: string;
  let s3: LocalS3;
  let objects: S3ObjectStore;
  let sim: RunningSim;
  let server: Server;
  let connectors: Map<string, WhatsAppConnector | InstagramConnector>;
  let storeMedia: ReturnType<typeof inboundMediaStorer>;

  const acceptDeps = () => ({ ...stores, bus, clock, logger, settings, storeMedia });
  const mediaCount = async (result: string) =>
    (await metrics.inboundMedia.get()).values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-inbound-media-'));
    s3 = await startLocalS3({ directory: dir, port: 0 });
    objects = new S3ObjectStore({ endpoint: s3.endpoint, bucket: `t-${randomBytes(4).toString('hex')}`, region: 'us-east-1', ...LOCAL_S3_KEYS });
    await objects.ensureBucket();
    sim = await startSim();
    const common = { baseUrl: sim.url, accessToken: TEST_TOKEN, appSecret: TEST_SECRET, verifyToken: 'v' };
    connectors = new Map<string, WhatsAppConnector | InstagramConnector>([
      ['whatsapp', new WhatsAppConnector({ ...common, phoneNumberId: '100000000000002' })],
      ['instagram', new InstagramConnector({ ...common, accountId: '17841400000000001' })],
    ]);
    storeMedia = inboundMediaStorer({ files: stores.files, objects, connectors, metrics, logger, clock, limits: { maxBytes: 64 * 1024, timeoutMs: 5000 }, maxAttempts: 3 });
    await stores.users.createUser({ user_id: 'u-alice', username: 'alice', password_hash: 'x', created_at: '2026-12-01T00:00:00Z' });
    const app = createConnectorsApp({
      config: { providerWebhookMaxBytes: 64 * 1024, maxJsonDepth: 32, providerStatusMatchWindowMs: 60_000 },
      ...stores,
      store: stores,
      bus,
      clock,
      logger,
      metrics,
      registry,
      connectors,
      acceptInbound: (m) => acceptInbound(acceptDeps(), m),
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await simPost('/_sim/config', { webhook_urls: { whatsapp: `${url}/webhooks/whatsapp`, instagram: `${url}/webhooks/instagram` } });
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await sim?.stop();
    await bus.close();
    await stores.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function simPost(path: string, body: unknown) {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as Record<string, string>;
  }

  /** The message the provider message became, once the webhook was taken (bounded wait). */
  async function messageOf(channel: 'whatsapp' | 'instagram', providerId: string): Promise<Message> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = await stores.messages.getMessage(inboundMessageId(channel, providerId));
      if (m) return m;
      assert.ok(Date.now() < deadline, `no message for ${providerId} within 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function objectSha256(key: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of await objects.getObject(key)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async function waitIdle() {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { [c: string]: { webhooks?: { pending?: number } } };
      if ((stats.whatsapp?.webhooks?.pending ?? 0) === 0 && (stats.instagram?.webhooks?.pending ?? 0) === 0) return;
      assert.ok(Date.now() < deadline, 'webhooks still pending after 10 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('a WhatsApp image becomes a ready file of the sender in the conversation, with the sha256 the provider reports', async () => {
    const sent = await simPost('/_sim/inbound', { channel: 'whatsapp', from: '+5511977776666', name: 'Maria', type: 'image', caption: 'a praia', mime_type: 'image/jpeg', size: 4096 });
    const message = await messageOf('whatsapp', sent.id!);
    assert.equal(message.payload.type, 'file');
    const payload = message.payload as { type: 'file'; file_id: string; caption?: string };
    assert.equal(payload.caption, 'a praia');
    const file = await stores.files.getFile(payload.file_id);
    assert.ok(file);
    assert.equal(file.state, 'ready');
    assert.equal(file.size, 4096);
    assert.equal(file.content_type, 'image/jpeg');
    assert.equal(file.sha256, sent.sha256, 'the sha256 of what was stored is the one the simulator reports');
    assert.equal(await objectSha256(file.object_key), sent.sha256);
    assert.equal(file.conversation_id, message.conversation_id);
    assert.equal(file.uploader_id, message.sender_id);
    assert.equal(inboundOrigin(message)?.provider_media?.provider_media_id, sent.media_id, 'the provider reference stays in the metadata');
  });

  it('an Instagram attachment (payload.url) is fetched and stored the same way', async () => {
    const bytes = randomBytes(3000);
    const sent = await simPost('/_sim/inbound', { channel: 'instagram', from: '6543210987', type: 'image', content_base64: bytes.toString('base64') });
    const message = await messageOf('instagram', sent.id!);
    assert.equal(message.payload.type, 'file');
    const file = await stores.files.getFile((message.payload as { file_id: string }).file_id);
    assert.equal(file?.state, 'ready');
    assert.equal(file?.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(file?.conversation_id, message.conversation_id);
  });

  it('a duplicated webhook makes one message and one file', async () => {
    await simPost('/_sim/config', { duplicate: true });
    try {
      const storedBefore = await mediaCount('stored');
      const sent = await simPost('/_sim/inbound', { channel: 'whatsapp', from: '+5511988887777', type: 'document', filename: 'conta.pdf', mime_type: 'application/pdf', size: 2000 });
      const message = await messageOf('whatsapp', sent.id!);
      await waitIdle();
      const fileId = (message.payload as { file_id: string }).file_id;
      assert.equal(fileId, inboundFileId('whatsapp', { provider_message_id: sent.id!, payload: { type: 'media', media: { kind: 'document', provider_media_id: sent.media_id! } } }));
      assert.equal((await stores.files.getFile(fileId))?.filename, 'conta.pdf');
      assert.equal((await mediaCount('stored')) - storedBefore, 1, 'the second copy found the message (or the file): nothing fetched twice');
    } finally {
      await simPost('/_sim/config', { duplicate: false });
    }
  });

  const inbound = (id: string, media: { provider_media_id?: string; url?: string }, channel: 'whatsapp' | 'instagram' = 'whatsapp'): InboundMessage => ({
    channel,
    from: channel === 'whatsapp' ? '+5511966665555' : '1234567',
    provider_message_id: id,
    provider_timestamp: new Date().toISOString(),
    payload: { type: 'media', media: { kind: 'image', mime_type: 'image/jpeg', ...media }, caption: 'oi' },
  });

  it('two deliveries of one webhook at once (a provider that timed out the first) fetch the media once', async () => {
    const served = await simPost('/_sim/inbound', { channel: 'instagram', from: '5550001', type: 'image', size: 5000 });
    await messageOf('instagram', served.id!);
    const storedBefore = await mediaCount('stored');
    const m = inbound(`mid.${randomBytes(6).toString('hex')}`, { url: served.media_url! }, 'instagram');
    const [a, b] = await Promise.all([acceptInbound(acceptDeps(), m), acceptInbound(acceptDeps(), m)]);
    assert.equal(a.message_id, b.message_id);
    assert.equal((await mediaCount('stored')) - storedBefore, 1, 'one fetch, one file');
    const message = await stores.messages.getMessage(a.message_id);
    assert.equal((await stores.files.getFile((message?.payload as { file_id: string }).file_id))?.sha256, served.sha256);
  });

  it('a media the provider does not know is counted and the message kept with its reference', async () => {
    const before = await mediaCount('not_found');
    const result = await acceptInbound(acceptDeps(), inbound(`wamid.${randomBytes(6).toString('hex')}`, { provider_media_id: '999999999' }));
    const message = await stores.messages.getMessage(result.message_id);
    assert.equal(message?.payload.type, 'media');
    assert.equal((await mediaCount('not_found')) - before, 1);
  });

  it('a media over the limit keeps the reference (too_large)', async () => {
    const sent = await simPost('/_sim/inbound', { channel: 'instagram', from: '7654321', type: 'video', size: 70 * 1024 });
    const message = await messageOf('instagram', sent.id!);
    assert.equal(message.payload.type, 'media');
    assert.ok((await mediaCount('too_large')) >= 1);
  });

  it('bytes whose sha256 is not the one the provider reports are not stored: the reference is kept', async () => {
    const lying = new Map([['whatsapp', { fetchMedia: async () => ({ body: Readable.from([randomBytes(100)]), size: 100, content_type: 'image/png', sha256: 'ab'.repeat(32) }) }]]);
    const checking = inboundMediaStorer({ files: stores.files, objects, connectors: lying, metrics, logger, clock, limits: { maxBytes: 1024, timeoutMs: 2000 }, maxAttempts: 3 });
    const before = await mediaCount('sha256_mismatch');
    const m = inbound(`wamid.${randomBytes(6).toString('hex')}`, { provider_media_id: '777' });
    const result = await acceptInbound({ ...acceptDeps(), storeMedia: checking }, m);
    assert.equal((await stores.messages.getMessage(result.message_id))?.payload.type, 'media');
    assert.equal(await stores.files.getFile(inboundFileId('whatsapp', m)), null);
    assert.equal((await mediaCount('sha256_mismatch')) - before, 1);
  });

  it('an unreachable provider answers 503 (the provider retries) a few times, then the message is accepted with the reference', async () => {
    const dead = new Map([['whatsapp', new WhatsAppConnector({ baseUrl: 'http://127.0.0.1:9', phoneNumberId: '1', accessToken: 't', appSecret: 's', verifyToken: 'v' })]]);
    const retrying = inboundMediaStorer({ files: stores.files, objects, connectors: dead, metrics, logger, clock, limits: { maxBytes: 1024, timeoutMs: 2000 }, maxAttempts: 3 });
    const m = inbound(`wamid.${randomBytes(6).toString('hex')}`, { provider_media_id: '12345' });
    const deps = { ...acceptDeps(), storeMedia: retrying };
    const before = await mediaCount('gave_up');
    for (let i = 0; i < 2; i++) {
      await assert.rejects(acceptInbound(deps, m), (err: unknown) => (err as { status?: number }).status === 503);
      assert.equal(await stores.messages.getMessage(inboundMessageId('whatsapp', m.provider_message_id)), null, 'nothing accepted while retrying');
    }
    const result = await acceptInbound(deps, m);
    assert.equal(result.created, true);
    assert.equal((await stores.messages.getMessage(result.message_id))?.payload.type, 'media');
    assert.equal((await mediaCount('gave_up')) - before, 1);
  });
});

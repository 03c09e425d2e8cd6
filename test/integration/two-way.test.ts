import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startLocalPlatform } from '../support/local-platform.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { ResumingClient } from '../support/realtime-client.ts';
import { inboundMessageId } from '../../services/core/inbound/accept-inbound.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- the tests walk JSON answers */

/**
 * Issue #13 on the real local platform (dev broker, a router, the API, a push gateway and one
 * connector process per channel, the provider simulator): people on WhatsApp and Instagram write
 * in through the simulator's signed inbound webhooks and are answered across channels.
 */
describe('two-way messaging on the local platform', { timeout: 360_000 }, () => {
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  let api: ApiClient;
  let sim: string;
  const tag = randomBytes(3).toString('hex');
  // The business's owners of each number/account, named before the platform starts.
  const names = { alice: `alice-${tag}`, bob: `bob-${tag}`, carol: `carol-${tag}` };
  type Person = { client: ApiClient; userId: string; username: string; token: string };
  let alice: Person;
  let bob: Person;
  let carol: Person;
  const bobIgsid = `1784${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
  const carolPhone = `+5521${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

  async function simCall(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${sim}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  const received = async (channel: string, to: string): Promise<any[]> => (await simCall('GET', `/_sim/received?channel=${channel}&to=${encodeURIComponent(to)}`)).received;
  const inbound = async (body: Record<string, unknown>): Promise<string> => (await simCall('POST', '/_sim/inbound', body)).id;

  async function person(username: string): Promise<Person> {
    const password = 'correct horse battery';
    const reg = await api.call<{ user_id: string }>('POST', '/auth/register', { username, password });
    assert.equal(reg.status, 201);
    const tok = await api.call<{ access_token: string }>('POST', '/auth/token', { username, password });
    return { client: new ApiClient(api.baseUrl, tok.body.access_token), userId: reg.body.user_id, username, token: tok.body.access_token };
  }
  /** Links an address and, when verification is on, verifies it with the code the simulator received for it. */
  async function linkVerified(p: Person, channel: 'whatsapp' | 'instagram', address: string) {
    const linked = await p.client.call<{ verified: boolean }>('POST', '/v1/users/me/identities', { channel, address });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    // The local platform runs with IDENTITY_VERIFICATION=off unless asked: then the link is active at once.
    if (linked.body.verified) return;
    const code = await eventually(async () => {
      const texts = (await received(channel, address)).map((r) => r.text as string);
      return texts.map((t) => /code is (\d{6})/.exec(t)?.[1]).find(Boolean);
    }, `the ${channel} code for ${address}`);
    const verified = await p.client.call('POST', `/v1/users/me/identities/${channel}/${address}/verify`, { code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
  }
  /** The conversation an inbound message landed in, once the router has ordered it. */
  async function landed(p: Person, channel: 'whatsapp' | 'instagram', providerId: string): Promise<string> {
    const m = await eventually(async () => {
      const r = await p.client.call<any>('GET', `/v1/messages/${inboundMessageId(channel, providerId)}`);
      return r.status === 200 && r.body.seq !== null && r.body;
    }, `inbound ${providerId} to be routed`);
    return m.conversation_id;
  }
  async function history(p: Person, conversationId: string): Promise<any[]> {
    const r = await p.client.call<any>('GET', `/v1/conversations/${conversationId}/messages?limit=100`);
    assert.equal(r.status, 200);
    return r.body.messages;
  }
  const texts = (messages: any[]) => messages.map((m) => m.payload.text as string);

  before(async () => {
    platform = await startLocalPlatform({
      routers: 1,
      gateways: 1,
      // A shared machine under load can take a while to start a process.
      startTimeoutMs: 90_000,
      env: { INBOUND_DEFAULT_MEMBERS: `whatsapp=${names.alice},${names.bob};instagram=${names.alice},${names.carol}` },
    });
    api = new ApiClient(platform.supervisor.apiUrl);
    sim = platform.supervisor.simUrl;
    [alice, bob, carol] = [await person(names.alice), await person(names.bob), await person(names.carol)];
    await Promise.all([linkVerified(bob, 'instagram', bobIgsid), linkVerified(carol, 'whatsapp', carolPhone)]);
  });
  after(async () => {
    await platform?.stop('two-way');
  });

  it('a WhatsApp user answers an in-app message; the reply reaches Bob on Instagram and Alice in the app (REST and WebSocket), in order, once', async () => {
    const maria = `5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const first = await inbound({ channel: 'whatsapp', from: maria, name: 'Maria', text: `Olá, aqui é a Maria ${tag}` });
    const conversationId = await landed(alice, 'whatsapp', first);
    const ws = new ResumingClient(platform.supervisor.streamUrls, alice.token, [conversationId]);
    await ws.connect();
    try {
      const ask = await alice.client.call<any>('POST', '/v1/messages', { conversation_id: conversationId, channels: ['all'], payload: { type: 'text', text: `Oi Maria, em que posso ajudar? ${tag}` } });
      assert.equal(ask.status, 202);
      // Maria has it on WhatsApp: her number is now answered in this conversation.
      await eventually(async () => (await received('whatsapp', maria)).some((r) => r.text?.startsWith('Oi Maria')), "Alice's message at Maria's WhatsApp");

      const reply = await inbound({ channel: 'whatsapp', from: maria, name: 'Maria', text: `Quero mudar meu pedido ${tag}` });
      assert.equal(await landed(alice, 'whatsapp', reply), conversationId, 'the reply goes to the conversation Maria was answered in');

      const atBob = await eventually(async () => {
        const list = (await received('instagram', bobIgsid)).filter((r) => r.text?.endsWith(tag));
        return list.length >= 3 && list;
      }, 'the three messages at Bob on Instagram');
      assert.deepEqual(
        atBob.map((r) => r.text),
        [`Olá, aqui é a Maria ${tag}`, `Oi Maria, em que posso ajudar? ${tag}`, `Quero mudar meu pedido ${tag}`],
        'in order, once each',
      );
      const all = await history(alice, conversationId);
      assert.deepEqual(texts(all), [`Olá, aqui é a Maria ${tag}`, `Oi Maria, em que posso ajudar? ${tag}`, `Quero mudar meu pedido ${tag}`]);
      assert.deepEqual(all.map((m) => m.seq), [1, 2, 3]);
      assert.equal(all[2].sender_id, all[0].sender_id, "Maria's two messages come from one contact");
      const pushed = await eventually(async () => {
        const frames = ws.received.filter((f) => f.conversation_id === conversationId);
        return frames.length >= 3 && frames;
      }, 'three pushes to Alice');
      assert.deepEqual(pushed.map((f) => f.payload.text), texts(all));
      // Maria is not sent her own messages back.
      assert.deepEqual((await received('whatsapp', maria)).map((r) => r.text), [`Oi Maria, em que posso ajudar? ${tag}`]);
    } finally {
      ws.close();
    }
  });

  it('a duplicated and shuffled inbound stream yields each message once, in provider-timestamp order', async () => {
    await simCall('POST', '/_sim/config', { order: 'shuffled', duplicate: true, inbound_shuffle_ms: 400 });
    try {
      const paulo = `5531${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
      const start = Date.now() - 60_000;
      const sent = Array.from({ length: 6 }, (_, i) => `parte ${i + 1} ${tag}`);
      const ids: string[] = [];
      // Written a second apart (WhatsApp timestamps are seconds), posted at once.
      for (const [i, text] of sent.entries()) ids.push(await inbound({ channel: 'whatsapp', from: paulo, name: 'Paulo', text, timestamp_ms: start + i * 1000 }));
      const conversationId = await landed(alice, 'whatsapp', ids[0]!);
      await eventually(async () => (await history(alice, conversationId)).length >= sent.length, 'the six messages in history');
      await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show up now
      assert.deepEqual(texts(await history(alice, conversationId)), sent);
      const atBob = (await received('instagram', bobIgsid)).filter((r) => sent.includes(r.text));
      assert.deepEqual(atBob.map((r) => r.text), sent, 'Bob gets them once each, in order');
    } finally {
      await simCall('POST', '/_sim/config', { order: 'in_order', duplicate: false });
    }
  });

  it('an Instagram user reaches Carol on WhatsApp', async () => {
    const ivo = `1785${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
    const id = await inbound({ channel: 'instagram', from: ivo, text: `oi, vi o anúncio ${tag}` });
    const conversationId = await landed(carol, 'instagram', id);
    await eventually(async () => (await received('whatsapp', carolPhone)).some((r) => r.text === `oi, vi o anúncio ${tag}`), 'the message at Carol on WhatsApp');
    assert.deepEqual(texts(await history(carol, conversationId)), [`oi, vi o anúncio ${tag}`]);
    // Carol answers in the app; Ivo has it on Instagram.
    assert.equal((await carol.client.call('POST', '/v1/messages', { conversation_id: conversationId, channels: ['all'], payload: { type: 'text', text: `Olá Ivo ${tag}` } })).status, 202);
    await eventually(async () => (await received('instagram', ivo)).some((r) => r.text === `Olá Ivo ${tag}`), "Carol's answer at Ivo on Instagram");
  });

  it("Maria's WhatsApp photo is fetched, stored as a file and reaches Bob on Instagram as an image with the same bytes", async () => {
    const maria = `5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const photo = await simCall('POST', '/_sim/inbound', { channel: 'whatsapp', from: maria, name: 'Maria', type: 'image', caption: `a praia ${tag}`, mime_type: 'image/jpeg', size: 48_000 });
    const conversationId = await landed(alice, 'whatsapp', photo.id);
    const message = (await alice.client.call<any>('GET', `/v1/messages/${inboundMessageId('whatsapp', photo.id)}`)).body;
    assert.equal(message.payload.type, 'file');
    assert.equal(message.payload.caption, `a praia ${tag}`);
    const atBob = await eventually(async () => (await received('instagram', bobIgsid)).find((r) => r.type === 'image' && r.media?.fetched), 'the photo at Bob on Instagram');
    assert.equal(atBob.media.fetched.sha256, photo.sha256, 'Bob gets the bytes Maria sent');
    assert.equal(atBob.media.fetched.size, 48_000);
    // A member downloads it from the platform: the same bytes.
    const link = await alice.client.call<any>('GET', `/v1/files/${message.payload.file_id}/download?redirect=false`);
    assert.equal(link.status, 200, JSON.stringify(link.body));
    const bytes = Buffer.from(await (await fetch(link.body.url, { signal: AbortSignal.timeout(10_000) })).arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), photo.sha256);
    assert.equal(message.conversation_id, conversationId);
  });

  it('a connector killed (SIGKILL) while inbound webhooks arrive loses none: the simulator retries', async () => {
    const sup = platform.supervisor;
    const rui = `5541${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const ids: string[] = [];
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      const text = `msg ${i + 1} ${tag}`;
      sent.push(text);
      ids.push(await inbound({ channel: 'whatsapp', from: rui, name: 'Rui', text }));
      if (i === 3) await sup.kill('connector-whatsapp', 'KILL');
      if (i === 8) await sup.startProcess('connector-whatsapp');
      await new Promise((r) => setTimeout(r, 50));
    }
    const conversationId = await landed(alice, 'whatsapp', ids[0]!);
    const all = await eventually(async () => {
      const list = await history(alice, conversationId);
      return list.length >= sent.length && list;
    }, 'all twelve in history', 60_000);
    assert.deepEqual([...texts(all)].sort(), [...sent].sort(), 'none lost, none twice');
    const stats = (await simCall('GET', '/_sim/stats')).whatsapp.webhooks;
    assert.equal(stats.failed, 0, 'no webhook given up');
    console.log(`connector kill during inbound: ${sent.length} sent, ${all.length} stored, webhook attempts so far ${stats.attempts} for ${stats.sent} delivered`);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, createHmac } from 'node:crypto';
import { ApiClient, eventually } from '../support/api-client.ts';
import { startTestPlatform } from '../support/embedded.ts';

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
interface Delivery { recipient_id: string; channel: string; status: string; provider_message_id?: string | null; error?: { code: string } | null }
interface MessageView {
  message_id: string; seq: number | null; status: string; deliveries: Delivery[];
  history: { status: string; at: string; recipient_id?: string; channel?: string }[];
}
interface Received { channel: string; to: string; text?: string; provider_message_id: string; duplicate_count: number }

const RANK: Record<string, number> = { SENT: 1, DELIVERED: 2, READ: 3, FAILED: 2 };

describe('messaging end to end on the embedded platform', () => {
  let platform: Platform;
  let anon: ApiClient;
  let sim: ApiClient;

  before(async () => {
    platform = await startTestPlatform();
    anon = new ApiClient(platform.apiUrl);
    sim = new ApiClient(platform.simUrl!);
  });
  after(async () => {
    await platform?.stop();
  });

  async function pair(opts: { whatsapp?: string; instagram?: string } = {}) {
    const a = await anon.newUser('alice');
    const b = await anon.newUser('bob');
    if (opts.whatsapp) assert.equal((await b.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: opts.whatsapp })).status, 201);
    if (opts.instagram) assert.equal((await b.client.call('POST', '/v1/users/me/identities', { channel: 'instagram', address: opts.instagram })).status, 201);
    const conv = await a.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [b.userId] });
    assert.equal(conv.status, 201, JSON.stringify(conv.body));
    return { a, b, conversationId: conv.body.conversation_id };
  }

  const received = async (query: string) =>
    (await sim.call<{ received: Received[]; duplicates: number }>('GET', `/_sim/received?${query}`)).body;

  const phone = () => `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const igsid = () => `1784${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;

  it('delivers to WhatsApp and Instagram and tracks SENT → DELIVERED → READ', async () => {
    const wa = phone();
    const ig = igsid();
    const { a, b, conversationId } = await pair({ whatsapp: wa, instagram: ig });
    const sent = await a.client.call<{ status: string; message_id: string; accepted_at: string }>('POST', '/v1/messages', {
      conversation_id: conversationId,
      channels: ['all'],
      payload: { type: 'text', text: 'Olá, Bob!' },
    });
    assert.equal(sent.status, 202);
    assert.equal(sent.body.status, 'accepted');
    const id = sent.body.message_id;

    const waGot = await eventually(async () => {
      const r = await received(`channel=whatsapp&to=${encodeURIComponent(wa)}`);
      return r.received.length > 0 && r;
    }, 'the WhatsApp send');
    assert.equal(waGot.received.length, 1);
    assert.equal(waGot.received[0]!.text, 'Olá, Bob!');
    const igGot = await eventually(async () => {
      const r = await received(`channel=instagram&to=${ig}`);
      return r.received.length > 0 && r;
    }, 'the Instagram send');
    assert.equal(igGot.received.length, 1);

    // The simulator reports sent, delivered and read; the WhatsApp delivery reaches READ.
    const view = await eventually(async () => {
      const r = await a.client.call<MessageView>('GET', `/v1/messages/${id}`);
      const w = r.body.deliveries.find((d) => d.channel === 'whatsapp');
      const i = r.body.deliveries.find((d) => d.channel === 'instagram');
      return w?.status === 'READ' && i?.status === 'READ' && r.body;
    }, 'provider statuses to arrive');
    assert.equal(view.seq, 1);
    assert.equal(view.deliveries.length, 3, 'internal + whatsapp + instagram');
    const w = view.deliveries.find((d) => d.channel === 'whatsapp')!;
    assert.equal(w.provider_message_id, waGot.received[0]!.provider_message_id);
    const waHistory = view.history.filter((h) => h.channel === 'whatsapp').map((h) => h.status);
    assert.deepEqual(waHistory, ['SENT', 'DELIVERED', 'READ']);
    assert.equal(view.history[0]!.status, 'SENT');
    assert.equal(view.status, 'READ', 'bob read it on WhatsApp, so every recipient has read it');

    // Bob fetches the conversation: his internal delivery becomes DELIVERED; then he marks it read.
    const page = await b.client.call<{ messages: { message_id: string; seq: number }[]; has_more: boolean }>(
      'GET', `/v1/conversations/${conversationId}/messages?limit=50&after_seq=0`);
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.messages.map((m) => m.message_id), [id]);
    const afterFetch = await a.client.call<MessageView>('GET', `/v1/messages/${id}`);
    assert.equal(afterFetch.body.deliveries.find((d) => d.channel === 'internal')!.status, 'DELIVERED');
    assert.equal((await b.client.call('POST', `/v1/messages/${id}/read`)).status, 200);
    assert.equal((await b.client.call('POST', `/v1/messages/${id}/read`)).status, 200);
    const final = await a.client.call<MessageView>('GET', `/v1/messages/${id}`);
    assert.deepEqual(final.body.history.filter((h) => h.channel === 'internal').map((h) => h.status), ['SENT', 'DELIVERED', 'READ']);
    const times = final.body.history.map((h) => Date.parse(h.at));
    assert.deepEqual(times, [...times].sort((x, y) => x - y), 'history is in time order');
  });

  it('orders 500 concurrent messages of one conversation as seq 1..500, and the provider gets them in that order', async () => {
    const wa = phone();
    const { a, conversationId } = await pair({ whatsapp: wa });
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        a.client.call<{ message_id: string }>('POST', '/v1/messages', {
          conversation_id: conversationId,
          channels: ['whatsapp'],
          payload: { type: 'text', text: `m${i}` },
        }),
      ),
    );
    assert.ok(results.every((r) => r.status === 202));
    const all = await eventually(async () => {
      const out: { message_id: string; seq: number; payload: { text: string } }[] = [];
      let after = 0;
      for (;;) {
        const p = await a.client.call<{ messages: typeof out; next_after_seq: number; has_more: boolean }>(
          'GET', `/v1/conversations/${conversationId}/messages?limit=200&after_seq=${after}`);
        out.push(...p.body.messages);
        if (!p.body.has_more) break;
        after = p.body.next_after_seq;
      }
      return out.length === 500 && out;
    }, 'all 500 messages to be ordered', 30000);
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: 500 }, (_, i) => i + 1));
    assert.equal(new Set(all.map((m) => m.message_id)).size, 500);

    const got = await eventually(async () => {
      const r = await received(`channel=whatsapp&to=${encodeURIComponent(wa)}`);
      return r.received.length >= 500 && r;
    }, 'the provider to receive 500 sends', 30000);
    assert.equal(got.received.length, 500);
    const textBySeq = all.map((m) => m.payload.text);
    assert.deepEqual(got.received.map((r) => r.text), textBySeq, 'the provider saw the messages in seq order');
  });

  it('makes one message and one provider call from 50 concurrent posts of one message_id; another body is 409', async () => {
    const wa = phone();
    const { a, conversationId } = await pair({ whatsapp: wa });
    const body = { message_id: randomUUID(), conversation_id: conversationId, channels: ['whatsapp'], payload: { type: 'text', text: 'once' } };
    const answers = await Promise.all(Array.from({ length: 50 }, () => a.client.call<{ message_id: string; accepted_at: string }>('POST', '/v1/messages', body)));
    assert.ok(answers.every((r) => r.status === 202), JSON.stringify(answers.map((r) => r.status)));
    assert.equal(new Set(answers.map((r) => r.body.accepted_at)).size, 1, 'every retry answers the same acceptance');
    const conflict = await a.client.call('POST', '/v1/messages', { ...body, payload: { type: 'text', text: 'other' } });
    assert.equal(conflict.status, 409);
    assert.match(conflict.headers.get('content-type') ?? '', /application\/problem\+json/);

    await eventually(async () => (await received(`channel=whatsapp&to=${encodeURIComponent(wa)}`)).received.length >= 1, 'the send');
    await platform.relayTick(); // a relay pass must not send it again either
    await new Promise((r) => setTimeout(r, 300));
    const r = await received(`channel=whatsapp&to=${encodeURIComponent(wa)}`);
    assert.equal(r.received.length, 1);
    const page = await a.client.call<{ messages: unknown[] }>('GET', `/v1/conversations/${conversationId}/messages`);
    assert.equal(page.body.messages.length, 1);
  });

  it('never moves a status backwards nor repeats a history entry under shuffled, duplicated webhooks', async () => {
    assert.equal((await sim.call('POST', '/_sim/config', { order: 'shuffled', duplicate: true })).status, 200);
    try {
      const wa = phone();
      const { a, conversationId } = await pair({ whatsapp: wa });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await a.client.call<{ message_id: string }>('POST', '/v1/messages', {
          conversation_id: conversationId, channels: ['whatsapp'], payload: { type: 'text', text: `s${i}` },
        });
        ids.push(r.body.message_id);
      }
      const stats = await eventually(async () => {
        const s = await sim.call<{ webhooks?: unknown }>('GET', '/_sim/stats');
        const views = await Promise.all(ids.map((id) => a.client.call<MessageView>('GET', `/v1/messages/${id}`)));
        const settled = views.every((v) => v.body.deliveries.every((d) => d.provider_message_id));
        return settled && s;
      }, 'every send to be accepted');
      assert.ok(stats);
      // Let every shuffled and duplicated webhook land.
      await new Promise((r) => setTimeout(r, 800));
      let sawRead = 0;
      for (const id of ids) {
        const v = (await a.client.call<MessageView>('GET', `/v1/messages/${id}`)).body;
        const h = v.history.filter((x) => x.channel === 'whatsapp').map((x) => x.status);
        assert.equal(new Set(h).size, h.length, `no repeated history entry: ${h.join(',')}`);
        for (let i = 1; i < h.length; i++) assert.ok(RANK[h[i]!]! > RANK[h[i - 1]!]!, `forward only: ${h.join(' → ')}`);
        const d = v.deliveries.find((x) => x.channel === 'whatsapp')!;
        assert.equal(d.status, h[h.length - 1]);
        if (d.status === 'READ') sawRead++;
      }
      assert.ok(sawRead > 0, 'read receipts arrived');
    } finally {
      await sim.call('POST', '/_sim/config', { order: 'in_order', duplicate: false });
    }
  });

  it('hides a conversation and its messages from non-members (404)', async () => {
    const { a, conversationId } = await pair();
    const c = await anon.newUser('carol');
    const sent = await a.client.call<{ message_id: string }>('POST', '/v1/messages', {
      conversation_id: conversationId, payload: { type: 'text', text: 'private' },
    });
    assert.equal(sent.status, 202);
    for (const [method, path, body] of [
      ['GET', `/v1/conversations/${conversationId}`],
      ['GET', `/v1/conversations/${conversationId}/messages`],
      ['GET', `/v1/messages/${sent.body.message_id}`],
      ['POST', `/v1/messages/${sent.body.message_id}/read`],
      ['POST', '/v1/messages', { conversation_id: conversationId, payload: { type: 'text', text: 'intrude' } }],
    ] as const) {
      const r = await c.client.call(method, path, body);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    const missing = await c.client.call('GET', `/v1/messages/${randomUUID()}`);
    const hidden = await c.client.call('GET', `/v1/messages/${sent.body.message_id}`);
    assert.deepEqual({ ...(hidden.body as object), instance: undefined }, { ...(missing.body as object), instance: undefined },
      'a hidden message looks exactly like a missing one');
  });

  it('refuses a webhook with a bad signature and changes nothing', async () => {
    const wa = phone();
    const { a, conversationId } = await pair({ whatsapp: wa });
    assert.equal((await sim.call('POST', '/_sim/config', { auto_read: false, webhook_delays_ms: { sent: 10, delivered: 60000, read: 60000 } })).status, 200);
    try {
      const sent = await a.client.call<{ message_id: string }>('POST', '/v1/messages', {
        conversation_id: conversationId, channels: ['whatsapp'], payload: { type: 'text', text: 'sig' },
      });
      const view = await eventually(async () => {
        const v = (await a.client.call<MessageView>('GET', `/v1/messages/${sent.body.message_id}`)).body;
        return v.deliveries[0]?.provider_message_id ? v : undefined;
      }, 'the provider id');
      const wamid = view.deliveries[0]!.provider_message_id!;
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ id: 'waba', changes: [{ field: 'messages', value: { statuses: [{ id: wamid, status: 'read', timestamp: '1700000000', recipient_id: wa.slice(1) }] } }] }],
      });
      const badSig = `sha256=${createHmac('sha256', 'not-the-secret').update(body).digest('hex')}`;
      const res = await fetch(`${platform.connectorsUrl}/webhooks/whatsapp`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': badSig }, body,
      });
      assert.equal(res.status, 401);
      const unsigned = await fetch(`${platform.connectorsUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(unsigned.status, 401);
      await new Promise((r) => setTimeout(r, 200));
      const still = (await a.client.call<MessageView>('GET', `/v1/messages/${sent.body.message_id}`)).body;
      assert.equal(still.deliveries[0]!.status, 'SENT');
      assert.deepEqual(still.history.map((h) => h.status), ['SENT', 'SENT']);
      // The same body correctly signed is applied: the check above failed for the signature alone.
      const goodSig = `sha256=${createHmac('sha256', 'dev-app-secret').update(body).digest('hex')}`;
      const ok = await fetch(`${platform.connectorsUrl}/webhooks/whatsapp`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': goodSig }, body,
      });
      assert.equal(ok.status, 200);
      await eventually(async () => (await a.client.call<MessageView>('GET', `/v1/messages/${sent.body.message_id}`)).body.deliveries[0]!.status === 'READ', 'the signed read');
    } finally {
      await sim.call('POST', '/_sim/reset');
      // reset forgets the webhook targets: point them back at the connectors.
      await sim.call('POST', '/_sim/config', {
        webhook_urls: { whatsapp: `${platform.connectorsUrl}/webhooks/whatsapp`, instagram: `${platform.connectorsUrl}/webhooks/instagram` },
      });
    }
  });
});

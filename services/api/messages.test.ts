import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { planDeliveries } from '../core/domain/routing.ts';
import { TOPICS } from '../core/topics.ts';
import { startTestApi, type TestApi } from './test-api.ts';

/** What a router would do: give the message its seq and deliveries (no router runs in these tests). */
async function route(api: TestApi, messageId: string) {
  const m = (await api.stores.messages.getMessage(messageId))!;
  const c = (await api.stores.conversations.getConversation(m.conversation_id))!;
  const identities = await api.stores.users.listIdentities(c.members);
  const plan = planDeliveries({ senderId: m.sender_id, members: c.members, requested: m.channels, identities });
  return api.stores.messages.routeMessage(messageId, plan, new Date().toISOString());
}

describe('messages', () => {
  let api: TestApi;
  let a: Awaited<ReturnType<TestApi['user']>>;
  let b: Awaited<ReturnType<TestApi['user']>>;
  let outsider: Awaited<ReturnType<TestApi['user']>>;
  let conversationId: string;

  before(async () => {
    api = await startTestApi();
    [a, b, outsider] = [await api.user('alice'), await api.user('bob'), await api.user('eve')];
    const c = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } });
    conversationId = c.body.conversation_id;
  });
  after(async () => {
    await api.close();
  });

  const send = (token: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
    api.request('POST', '/v1/messages', { token, body: { conversation_id: conversationId, ...body }, headers });

  it('accepts a message with 202, and a retry of the same body with the same 202 and no second message', async () => {
    const message_id = randomUUID();
    const body = { message_id, channels: ['internal'], payload: { type: 'text', text: 'Olá!' }, metadata: { priority: 'normal' } };
    const first = await send(a.token, body);
    assert.equal(first.status, 202);
    assert.deepEqual(Object.keys(first.body).sort(), ['accepted_at', 'conversation_id', 'message_id', 'status']);
    assert.equal(first.body.status, 'accepted');
    assert.equal(first.body.message_id, message_id);
    assert.equal(first.body.conversation_id, conversationId);

    // Key order must not matter for "the same body".
    const retry = await send(a.token, { payload: { text: 'Olá!', type: 'text' }, metadata: { priority: 'normal' }, channels: ['internal'], message_id });
    assert.equal(retry.status, 202);
    assert.deepEqual(retry.body, first.body);

    const stored = (await api.stores.messages.listUnrouted(new Date(Date.now() + 60_000).toISOString(), 1000)).filter((m) => m.message_id === message_id);
    assert.equal(stored.length, 1);

    const other = await send(a.token, { ...body, payload: { type: 'text', text: 'something else' } });
    assert.equal(other.status, 409);
    assert.match(other.headers.get('content-type') ?? '', /problem\+json/);
  });

  it('makes a message id when none is given and defaults channels to ["all"]', async () => {
    const res = await send(a.token, { payload: { type: 'text', text: 'hi' } });
    assert.equal(res.status, 202);
    assert.match(res.body.message_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual((await api.stores.messages.getMessage(res.body.message_id))!.channels, ['all']);
  });

  it('accepts a file payload with a caption: a ready file of the sender, for this conversation', async () => {
    const file = (state: 'ready' | 'uploading', over: Record<string, string> = {}) => {
      const file_id = `fil_${Math.random().toString(16).slice(2)}`;
      return api.stores.files.createFile({
        file_id, uploader_id: a.user_id, conversation_id: conversationId, filename: 'r.pdf', content_type: 'application/pdf', size: 10,
        sha256: '0'.repeat(64), part_size: 8 << 20, part_count: 1, object_key: `files/${file_id}`, upload_id: 'u', state,
        created_at: new Date().toISOString(), expires_at: new Date(Date.now() + 60_000).toISOString(), ...over,
      });
    };
    const ready = await file('ready');
    const res = await send(a.token, { payload: { type: 'file', file_id: ready.file_id, caption: 'report' } });
    assert.equal(res.status, 202);
    assert.deepEqual((await api.stores.messages.getMessage(res.body.message_id))!.payload, { type: 'file', file_id: ready.file_id, caption: 'report' });

    assert.equal((await send(a.token, { payload: { type: 'file', file_id: 'fil_nope' } })).status, 404, 'no such file');
    assert.equal((await send(b.token, { payload: { type: 'file', file_id: ready.file_id } })).status, 404, "someone else's file");
    const open = await send(a.token, { payload: { type: 'file', file_id: (await file('uploading')).file_id } });
    assert.equal(open.status, 422);
    assert.match(open.body.type, /file-not-ready$/);
    assert.equal(open.body.state, 'uploading');
    const elsewhere = await send(a.token, { payload: { type: 'file', file_id: (await file('ready', { conversation_id: 'another' })).file_id } });
    assert.equal(elsewhere.status, 422);
    assert.match(elsewhere.body.type, /file-wrong-conversation$/);
  });

  it('answers 404 to a sender who is not a member, like a missing conversation', async () => {
    const foreign = await send(outsider.token, { payload: { type: 'text', text: 'let me in' } });
    assert.equal(foreign.status, 404);
    const missing = await api.request('POST', '/v1/messages', { token: a.token, body: { conversation_id: 'nope', payload: { type: 'text', text: 'x' } } });
    assert.equal(missing.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);
  });

  it('uses the traceparent trace id, echoes it and stores it with the message', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await send(a.token, { payload: { type: 'text', text: 'traced' } }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(res.headers.get('x-trace-id'), traceId);
    assert.equal((await api.stores.messages.getMessage(res.body.message_id))!.trace_id, traceId);
    const generated = await send(a.token, { payload: { type: 'text', text: 'untraced' } });
    assert.match(generated.headers.get('x-trace-id') ?? '', /^[0-9a-f]{32}$/);
  });

  it('takes 50 concurrent sends of one message_id as one message, published at least once', async () => {
    const seen = new Set<string>();
    let published!: () => void;
    const gotOne = new Promise<void>((r) => (published = r));
    const sub = await api.bus.subscribe({
      group: `test-${randomUUID()}`,
      topics: [TOPICS.accepted],
      handler: async (m) => {
        seen.add(JSON.parse(m.value).message_id);
        published();
      },
    });
    try {
      const message_id = randomUUID();
      const body = { message_id, payload: { type: 'text', text: 'once' } };
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(a.token, body)));
      assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([202]));
      assert.equal(new Set(answers.map((r) => r.body.accepted_at)).size, 1);
      const stored = (await api.stores.messages.listUnrouted(new Date(Date.now() + 60_000).toISOString(), 10_000)).filter((m) => m.message_id === message_id);
      assert.equal(stored.length, 1);
      await Promise.race([gotOne, new Promise((_, rej) => setTimeout(() => rej(new Error('nothing published within 5 s')), 5000).unref())]);
      assert.ok(seen.has(message_id));
    } finally {
      await sub.stop();
    }
  });

  it('shows a message with status, deliveries and history to members only', async () => {
    const sent = await send(a.token, { channels: ['internal'], payload: { type: 'text', text: 'status?' } });
    const id = sent.body.message_id;
    const before = await api.request('GET', `/v1/messages/${id}`, { token: a.token });
    assert.equal(before.status, 200);
    assert.equal(before.body.seq, null);
    assert.equal(before.body.status, 'SENT');
    assert.deepEqual(before.body.deliveries, []);

    await route(api, id);
    const msg = await api.request('GET', `/v1/messages/${id}`, { token: b.token });
    assert.equal(msg.status, 200);
    assert.equal(msg.body.message_id, id);
    assert.equal(msg.body.conversation_id, conversationId);
    assert.equal(msg.body.sender_id, a.user_id);
    assert.ok(Number.isInteger(msg.body.seq));
    assert.deepEqual(msg.body.payload, { type: 'text', text: 'status?' });
    assert.deepEqual(msg.body.channels, ['internal']);
    assert.equal(msg.body.status, 'SENT');
    assert.equal(msg.body.deliveries.length, 1);
    assert.equal(msg.body.deliveries[0].recipient_id, b.user_id);
    assert.equal(msg.body.deliveries[0].channel, 'internal');
    assert.equal(msg.body.deliveries[0].status, 'SENT');
    assert.equal(msg.body.deliveries[0].delivery_id, undefined);
    assert.ok(msg.body.history.length >= 1);
    assert.equal(msg.body.history[0].status, 'SENT');

    const foreign = await api.request('GET', `/v1/messages/${id}`, { token: outsider.token });
    const missing = await api.request('GET', `/v1/messages/${randomUUID()}`, { token: outsider.token });
    assert.equal(foreign.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);
  });

  it('marks the fetching member internal deliveries DELIVERED, and pages in seq order', async () => {
    const c = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'group', members: [b.user_id] } });
    const conv = c.body.conversation_id;
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      const r = await api.request('POST', '/v1/messages', { token: a.token, body: { conversation_id: conv, channels: ['internal'], payload: { type: 'text', text } } });
      ids.push(r.body.message_id);
      await route(api, r.body.message_id);
    }

    // The sender's fetch delivers nothing: the sender has no deliveries.
    const bySender = await api.request('GET', `/v1/conversations/${conv}/messages?limit=2`, { token: a.token });
    assert.equal(bySender.status, 200);
    assert.deepEqual(bySender.body.messages.map((m: { status: string }) => m.status), ['SENT', 'SENT']);

    const page1 = await api.request('GET', `/v1/conversations/${conv}/messages?limit=2&after_seq=0`, { token: b.token });
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.messages.map((m: { payload: { text: string } }) => m.payload.text), ['one', 'two']);
    assert.deepEqual(page1.body.messages.map((m: { seq: number }) => m.seq), [1, 2]);
    assert.equal(page1.body.has_more, true);
    assert.equal(page1.body.next_after_seq, 2);
    assert.deepEqual(page1.body.messages.map((m: { status: string }) => m.status), ['DELIVERED', 'DELIVERED']);
    assert.equal((await api.stores.deliveries.listDeliveries(ids[0]!))[0]!.status, 'DELIVERED');
    // Only the returned messages were delivered.
    assert.equal((await api.stores.deliveries.listDeliveries(ids[2]!))[0]!.status, 'SENT');

    const page2 = await api.request('GET', `/v1/conversations/${conv}/messages?limit=2&after_seq=${page1.body.next_after_seq}`, { token: b.token });
    assert.deepEqual(page2.body.messages.map((m: { payload: { text: string } }) => m.payload.text), ['three']);
    assert.equal(page2.body.has_more, false);
    assert.equal(page2.body.next_after_seq, 3);

    // Fetching again does not add history entries.
    await api.request('GET', `/v1/conversations/${conv}/messages`, { token: b.token });
    const history = (await api.request('GET', `/v1/messages/${ids[0]}`, { token: a.token })).body.history;
    assert.equal(history.filter((h: { status: string }) => h.status === 'DELIVERED').length, 1);

    assert.equal((await api.request('GET', `/v1/conversations/${conv}/messages`, { token: outsider.token })).status, 404);
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'after_seq=-1']) {
      const bad = await api.request('GET', `/v1/conversations/${conv}/messages?${q}`, { token: b.token });
      assert.equal(bad.status, 400, q);
      assert.equal(bad.body.errors[0].field, q.split('=')[0]);
    }
  });

  it('marks a message READ for its recipient; repeating is harmless; sender gets 409, outsider 404', async () => {
    const sent = await send(a.token, { channels: ['internal'], payload: { type: 'text', text: 'read me' } });
    const id = sent.body.message_id;
    await route(api, id);

    const read = await api.request('POST', `/v1/messages/${id}/read`, { token: b.token });
    assert.equal(read.status, 200);
    assert.equal(read.body.status, 'READ');
    assert.equal(read.body.deliveries[0].status, 'READ');
    const again = await api.request('POST', `/v1/messages/${id}/read`, { token: b.token });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'READ');
    const statuses = again.body.history.map((h: { status: string }) => h.status);
    assert.equal(statuses.filter((s: string) => s === 'READ').length, 1);
    const keys = again.body.history.map((h: { status: string; at: string; recipient_id?: string; channel?: string }) => JSON.stringify(h));
    assert.equal(new Set(keys).size, keys.length);

    // A later DELIVERED never downgrades it.
    const page = await api.request('GET', `/v1/conversations/${conversationId}/messages?limit=200`, { token: b.token });
    assert.equal(page.body.messages.find((m: { message_id: string }) => m.message_id === id).status, 'READ');

    assert.equal((await api.request('POST', `/v1/messages/${id}/read`, { token: a.token })).status, 409);
    assert.equal((await api.request('POST', `/v1/messages/${id}/read`, { token: outsider.token })).status, 404);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { TOPICS } from '../core/topics.ts';
import type { MessageCreatedEvent, PresenceRecord } from '../core/realtime-events.ts';
import { startTestGateways, TestClient } from '../../test/support/gateway-harness.ts';

type Harness = Awaited<ReturnType<typeof startTestGateways>>;
type User = Awaited<ReturnType<Harness['api']['user']>>;

const metric = async (h: { registry: { getSingleMetricAsString(n: string): Promise<string> } }, name: string) =>
  Number((await h.registry.getSingleMetricAsString(name)).match(/ (\d+(?:\.\d+)?)$/m)?.[1] ?? 0);

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway: authentication and close codes', () => {
  let h: Harness;
  let a: User;
  before(async () => {
    h = await startTestGateways({ authTimeoutMs: 300 });
    a = await h.api.user('alice');
  });
  after(() => h.close());

  it('accepts a Bearer header and an auth frame, answering ready with the user id', async () => {
    for (const c of [new TestClient(h.gateway.url, { token: a.token }), new TestClient(h.gateway.url, { authFrame: a.token })]) {
      const ready = await c.next((f) => f.type === 'ready');
      assert.equal(ready.v, 1);
      assert.equal(ready.user_id, a.user_id);
      assert.ok(ready.connection_id);
      await c.close();
    }
  });

  it('closes 4401 for a bad or expired token, in the header or the auth frame', async () => {
    const expired = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(a.user_id)
      .setIssuer('chat4all')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(h.api.config.jwtSecret));
    for (const c of [
      new TestClient(h.gateway.url, { token: 'not.a.jwt' }),
      new TestClient(h.gateway.url, { authFrame: `${a.token}x` }),
      new TestClient(h.gateway.url, { authFrame: expired }),
    ]) {
      const closed = await c.closed;
      assert.equal(closed.code, 4401, closed.reason);
    }
    const expiredClose = await new TestClient(h.gateway.url, { token: expired }).closed;
    assert.match(expiredClose.reason, /expired/);
  });

  it('closes 4408 when no auth frame comes in time, 4400 for a first frame that is not auth or not JSON', async () => {
    assert.equal((await new TestClient(h.gateway.url).closed).code, 4408);
    assert.equal((await new TestClient(h.gateway.url, { then: [{ type: 'ping' }] }).closed).code, 4400);
    const c = new TestClient(h.gateway.url, { token: a.token });
    await c.next((f) => f.type === 'ready');
    c.send('{not json');
    const closed = await c.closed;
    assert.equal(closed.code, 4400);
    assert.match(closed.reason, /not JSON/);
  });

  it('answers ping with pong, and a valid frame it cannot act on with an error frame (no close)', async () => {
    const c = new TestClient(h.gateway.url, { token: a.token, then: [{ type: 'ping' }, { type: 'ack', message_id: 'nope' }] });
    await c.next((f) => f.type === 'pong');
    const err = await c.next((f) => f.type === 'error');
    assert.equal(err.code, 'not_found');
    assert.equal(c.ws.readyState, c.ws.OPEN);
    await c.close();
  });

  it('closes 1008 a client that floods frames', async () => {
    const c = new TestClient(h.gateway.url, { token: a.token });
    await c.next((f) => f.type === 'ready');
    for (let i = 0; i < 150; i++) c.send({ type: 'ping' });
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /too many frames/);
  });

  it('refuses a token in the URL and a plain GET, and counts closes by code', async () => {
    const inUrl = new TestClient(`${h.gateway.url}?access_token=${a.token}`);
    await assert.rejects(inUrl.opened, /400/);
    const res = await fetch(h.gateway.url.replace('ws:', 'http:'));
    assert.equal(res.status, 426);
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    assert.ok((await h.gateway.registry.getSingleMetricAsString('gateway_connections_closed_total')).includes('code="4401"'));
  });
});

describe('gateway: token expiry', () => {
  let h: Harness;
  before(async () => {
    h = await startTestGateways();
  });
  after(() => h.close());

  it('closes a connection with 4401 when its token expires, by the gateway clock', async () => {
    const a = await h.api.user('alice');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(a.user_id)
      .setIssuer('chat4all')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(h.api.config.jwtSecret));
    // The gateway's clock is an hour on, bar 700 ms: the token is valid now, and expires in 700 ms.
    h.advanceClock(exp * 1000 - Date.now() - 700);
    const c = new TestClient(h.gateway.url, { token });
    await c.next((f) => f.type === 'ready');
    const started = Date.now();
    const closed = await c.closed;
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /expired/);
    assert.ok(Date.now() - started >= 300, 'closed at exp, not at once');
  });
});

describe('gateway: push, ack, read, typing, several devices and gateways', () => {
  let h: Harness;
  let a: User;
  let b: User;
  let conversationId: string;
  before(async () => {
    h = await startTestGateways({}, 2);
    [a, b] = [await h.api.user('alice'), await h.api.user('bob')];
    conversationId = await h.conversation(a, [b]);
  });
  after(() => h.close());

  it('pushes a routed message to every device of every member, on any gateway, with the recipient’s delivery id', async () => {
    const phone = new TestClient(h.gateways[0]!.url, { token: b.token });
    const laptop = new TestClient(h.gateways[1]!.url, { authFrame: b.token });
    const sender = new TestClient(h.gateways[1]!.url, { token: a.token });
    await Promise.all([phone, laptop, sender].map((c) => c.next((f) => f.type === 'ready')));
    const id = await h.send(a, conversationId, 'hello');
    for (const c of [phone, laptop]) {
      const m = await c.next((f) => f.type === 'message.created' && f.message_id === id);
      assert.equal(m.v, 1);
      assert.equal(m.conversation_id, conversationId);
      assert.equal(m.sender_id, a.user_id);
      assert.deepEqual(m.payload, { type: 'text', text: 'hello' });
      assert.equal(typeof m.seq, 'number');
      assert.ok(m.delivery_id, 'the recipient’s in-app delivery');
      assert.equal(m.created_at.length > 0, true);
    }
    const own = await sender.next((f) => f.type === 'message.created' && f.message_id === id);
    assert.equal(own.delivery_id, undefined, 'no delivery of one’s own message');
    const latency = await h.gateways[0]!.registry.getSingleMetricAsString('gateway_push_latency_seconds');
    assert.ok(Number(/_count\{[^}]*type="message.created"[^}]*\} (\d+)/.exec(latency)?.[1] ?? 0) >= 1, latency);
    await Promise.all([phone.close(), laptop.close(), sender.close()]);
  });

  it('skips, without decoding, the realtime records naming nobody connected to it', async () => {
    const carol = await h.api.user('carol');
    const bob = new TestClient(h.gateways[0]!.url, { token: b.token });
    const outsider = new TestClient(h.gateways[1]!.url, { token: carol.token });
    await Promise.all([bob, outsider].map((c) => c.next((f) => f.type === 'ready')));
    const skipped = (i: number) => metric(h.gateways[i]!, 'gateway_realtime_records_skipped_total');
    const before = [await skipped(0), await skipped(1)];
    const id = await h.send(a, conversationId, 'not for carol');
    await bob.next((f) => f.type === 'message.created' && f.message_id === id);
    // Gateway 2 holds only carol: the record names alice and bob, so it is not even parsed.
    await waitFor(async () => (await skipped(1)) > before[1]!, 5000, 'gateway 2 to skip the record');
    // Not decodable, but naming nobody connected: skipped by both, never read.
    await h.api.bus.publish(TOPICS.realtime, [{ key: conversationId, value: '{not json', headers: { members: JSON.stringify(['nobody']) } }]);
    await waitFor(async () => (await skipped(0)) > before[0]!, 5000, 'gateway 1 to skip the undecodable record');
    assert.equal(outsider.messages(conversationId).length, 0);
    await Promise.all([bob.close(), outsider.close()]);
  });

  it('ack makes the in-app delivery DELIVERED and read makes it READ; the sender sees both statuses', async () => {
    const bob = new TestClient(h.gateways[0]!.url, { token: b.token });
    const alice = new TestClient(h.gateways[1]!.url, { token: a.token });
    await Promise.all([bob, alice].map((c) => c.next((f) => f.type === 'ready')));
    const id = await h.send(a, conversationId, 'ack me');
    const pushed = await bob.next((f) => f.type === 'message.created' && f.message_id === id);
    bob.send({ type: 'ack', message_id: id });
    const delivered = await alice.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'DELIVERED');
    assert.equal(delivered.recipient_id, b.user_id);
    assert.equal(delivered.channel, 'internal');
    assert.equal((await h.api.stores.deliveries.getDelivery(pushed.delivery_id))!.status, 'DELIVERED');
    bob.send({ type: 'read', message_id: id });
    await alice.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'READ');
    assert.equal((await h.api.stores.deliveries.getDelivery(pushed.delivery_id))!.status, 'READ');
    // A late ack does not move READ back.
    bob.send({ type: 'ack', message_id: id });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await h.api.stores.deliveries.getDelivery(pushed.delivery_id))!.status, 'READ');
    await Promise.all([bob.close(), alice.close()]);
  });

  it('a fetch and a read over REST reach the sender’s devices as statuses too', async () => {
    const alice = new TestClient(h.gateways[1]!.url, { token: a.token });
    await alice.next((f) => f.type === 'ready');
    const id = await h.send(a, conversationId, 'read me over REST');
    await alice.next((f) => f.type === 'message.created' && f.message_id === id);
    const page = await h.api.request('GET', `/v1/conversations/${conversationId}/messages?limit=100`, { token: b.token });
    assert.equal(page.status, 200, page.text);
    const delivered = await alice.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'DELIVERED');
    assert.deepEqual([delivered.recipient_id, delivered.channel], [b.user_id, 'internal']);
    const read = await h.api.request('POST', `/v1/messages/${id}/read`, { token: b.token });
    assert.equal(read.status, 200, read.text);
    await alice.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'READ');
    // Reading again changes nothing, so it tells nobody.
    await h.api.request('POST', `/v1/messages/${id}/read`, { token: b.token });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alice.frames.filter((f) => f.type === 'message.status' && f.message_id === id && f.status === 'READ').length, 1);
    await alice.close();
  });

  it('a member removed from a group gets no new messages, in-app or pushed', async () => {
    const c = await h.api.user('carol');
    const group = await h.conversation(a, [b, c]);
    const carol = new TestClient(h.gateways[0]!.url, { token: c.token });
    await carol.next((f) => f.type === 'ready');
    const removed = await h.api.request('DELETE', `/v1/conversations/${group}/members/${c.user_id}`, { token: a.token });
    assert.equal(removed.status, 204, removed.text);
    const id = await h.send(a, group, 'after carol left');
    const bob = new TestClient(h.gateways[1]!.url, { token: b.token, then: [{ type: 'resume', cursors: { [group]: 0 } }] });
    await bob.next((f) => f.type === 'message.created' && f.message_id === id);
    const deliveries = await h.api.stores.deliveries.listDeliveries(id);
    assert.deepEqual(deliveries.map((d) => d.recipient_id), [b.user_id]);
    assert.equal(carol.messages(group).length, 0);
    // Her open connection cannot replay it either.
    carol.send({ type: 'resume', cursors: { [group]: 0 } });
    assert.equal((await carol.next((f) => f.type === 'error' && f.code === 'not_found')).code, 'not_found');
    assert.equal(carol.messages(group).length, 0);
    await Promise.all([carol.close(), bob.close()]);
  });

  it('relays typing to the other members only, across gateways', async () => {
    const bob = new TestClient(h.gateways[0]!.url, { token: b.token });
    const alice = new TestClient(h.gateways[1]!.url, { token: a.token });
    await Promise.all([bob, alice].map((c) => c.next((f) => f.type === 'ready')));
    alice.send({ type: 'typing', conversation_id: conversationId });
    const t = await bob.next((f) => f.type === 'typing');
    assert.deepEqual([t.conversation_id, t.user_id], [conversationId, a.user_id]);
    alice.send({ type: 'typing', conversation_id: 'not-mine' });
    assert.equal((await alice.next((f) => f.type === 'error')).code, 'not_found');
    assert.equal(alice.frames.filter((f) => f.type === 'typing').length, 0);
    await Promise.all([bob.close(), alice.close()]);
  });
});

describe('gateway: resume', () => {
  let h: Harness;
  let a: User;
  let b: User;
  before(async () => {
    h = await startTestGateways({ replayLimit: 30 });
    [a, b] = [await h.api.user('alice'), await h.api.user('bob')];
  });
  after(() => h.close());

  it('replays what was missed, then goes live, with no gap and no duplicate at the seam', async () => {
    const conversationId = await h.conversation(a, [b]);
    for (let i = 1; i <= 8; i++) await h.send(a, conversationId, `before ${i}`);
    await waitFor(async () => (await h.api.stores.messages.listMessages(conversationId, 0, 100)).length === 8, 5000, 'routing');
    // Bob last saw seq 3; messages keep coming while his replay runs (a slow store read: the
    // replay then also returns some of the messages that arrive live meanwhile).
    const store = h.api.stores.messages;
    const listMessages = store.listMessages.bind(store);
    store.listMessages = async (...args) => {
      await new Promise((r) => setTimeout(r, 300));
      return listMessages(...args);
    };
    after(() => {
      store.listMessages = listMessages;
    });
    const bob = new TestClient(h.gateway.url, { token: b.token, then: [{ type: 'resume', cursors: { [conversationId]: 3 } }] });
    const sending = (async () => {
      for (let i = 1; i <= 12; i++) await h.send(a, conversationId, `during ${i}`);
    })();
    const resumed = await bob.next((f) => f.type === 'resumed');
    store.listMessages = listMessages;
    assert.equal(resumed.conversations[conversationId].recovered, true);
    assert.ok(resumed.conversations[conversationId].seq > 8, 'the replay read messages that were also pushed live');
    await sending;
    await waitFor(() => bob.messages(conversationId).length >= 17, 5000, 'seq 4..20');
    await new Promise((r) => setTimeout(r, 200));
    const seqs = bob.messages(conversationId).map((f) => f.seq);
    assert.deepEqual(seqs, Array.from({ length: 17 }, (_, i) => i + 4), 'every seq after the cursor once, in order');
    assert.ok((await metric(h.gateway, 'gateway_replayed_messages_total')) >= 5);
    await bob.close();
  });

  it('says recovered:false when the position is older than the replay limit, and starts from now', async () => {
    const conversationId = await h.conversation(a, [b]);
    for (let i = 1; i <= 35; i++) await h.send(a, conversationId, `m ${i}`);
    await waitFor(async () => (await h.api.stores.messages.listMessages(conversationId, 0, 100)).length === 35, 5000, 'routing');
    const bob = new TestClient(h.gateway.url, { token: b.token, then: [{ type: 'resume', cursors: { [conversationId]: 0 } }] });
    const resumed = await bob.next((f) => f.type === 'resumed');
    assert.deepEqual(resumed.conversations[conversationId], { seq: 0, recovered: false });
    assert.equal(bob.messages(conversationId).length, 0);
    await h.send(a, conversationId, 'live');
    assert.equal((await bob.next((f) => f.type === 'message.created')).seq, 36);
    await bob.close();
  });

  it('fills a gap from the store when a live record is missing, and drops a repeated one', async () => {
    const conversationId = await h.conversation(a, [b]);
    const bob = new TestClient(h.gateway.url, { token: b.token, then: [{ type: 'resume', cursors: { [conversationId]: 0 } }] });
    await bob.next((f) => f.type === 'resumed');
    await h.send(a, conversationId, 'one');
    await bob.next((f) => f.type === 'message.created' && f.seq === 1);
    // seq 2 routed but its realtime record lost: the next live record (seq 3) reveals the gap.
    const m2 = await h.api.stores.messages.acceptMessage({ message_id: crypto.randomUUID(), conversation_id: conversationId, sender_id: a.user_id, payload: { type: 'text', text: 'two' }, channels: ['internal'], metadata: null, body_hash: 'x', trace_id: 't', created_at: new Date().toISOString() });
    const conv = (await h.api.stores.conversations.getConversation(conversationId))!;
    await h.api.stores.messages.routeMessage(m2.message.message_id, conv.members.filter((u) => u !== a.user_id).map((u) => ({ recipient_id: u, channel: 'internal' as const, address: null })), new Date().toISOString());
    const id3 = await h.send(a, conversationId, 'three');
    await bob.next((f) => f.type === 'message.created' && f.message_id === id3);
    const live3 = bob.messages(conversationId).find((f) => f.seq === 3);
    const event: MessageCreatedEvent = { type: 'message.created', conversation_id: conversationId, message_id: live3.message_id, seq: 3, sender_id: a.user_id, payload: live3.payload, created_at: live3.created_at, routed_at: Date.now(), members: [{ user_id: b.user_id, delivery_id: null }] };
    await h.api.bus.publish(TOPICS.realtime, [{ key: conversationId, value: JSON.stringify(event) }]);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(bob.messages(conversationId).map((f) => f.seq), [1, 2, 3]);
    assert.equal(bob.messages(conversationId)[1].payload.text, 'two');
    await bob.close();
  });

  it('does not replay a conversation the user is not in', async () => {
    const eve = await h.api.user('eve');
    const conversationId = await h.conversation(a, [b]);
    await h.send(a, conversationId, 'private');
    const c = new TestClient(h.gateway.url, { token: eve.token, then: [{ type: 'resume', cursors: { [conversationId]: 0 } }] });
    assert.equal((await c.next((f) => f.type === 'error')).code, 'not_found');
    const resumed = await c.next((f) => f.type === 'resumed');
    assert.deepEqual(resumed.conversations, {});
    assert.equal(c.messages(conversationId).length, 0);
    await c.close();
  });
});

describe('gateway: backpressure', () => {
  it('closes a client that does not read with 4429 once its queue is full, and counts it', async () => {
    const h = await startTestGateways({ sendQueueBytes: 256 * 1024 });
    try {
      const b = await h.api.user('bob');
      const slow = new TestClient(h.gateway.url, { token: b.token });
      await slow.next((f) => f.type === 'ready');
      await new Promise((r) => setTimeout(r, 300)); // past the resume window: live
      slow.ws.pause(); // stops reading: the kernel buffers fill, then the gateway's queue
      const text = 'x'.repeat(16 * 1024);
      for (let seq = 1; seq <= 3000 && (await metric(h.gateway, 'gateway_slow_client_disconnects_total')) === 0; seq++) {
        const e: MessageCreatedEvent = { type: 'message.created', conversation_id: 'c-slow', message_id: `m${seq}`, seq, sender_id: 'someone', payload: { type: 'text', text }, created_at: new Date().toISOString(), routed_at: Date.now(), members: [{ user_id: b.user_id, delivery_id: null }] };
        await h.api.bus.publish(TOPICS.realtime, [{ key: 'c-slow', value: JSON.stringify(e) }]);
        if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(await metric(h.gateway, 'gateway_slow_client_disconnects_total'), 1);
      slow.ws.resume();
      assert.equal((await slow.closed).code, 4429);
    } finally {
      await h.close();
    }
  });
});

describe('gateway: presence', () => {
  it('shows someone’s presence once a conversation with them starts while connected', async () => {
    const h = await startTestGateways();
    try {
      const [a, b] = [await h.api.user('alice'), await h.api.user('bob')];
      const alice = new TestClient(h.gateway.url, { token: a.token });
      const bob = new TestClient(h.gateway.url, { token: b.token });
      await Promise.all([alice, bob].map((c) => c.next((f) => f.type === 'ready')));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(alice.frames.filter((f) => f.type === 'presence').length, 0, 'no shared conversation yet');
      const c = await h.conversation(b, [a]);
      await h.send(b, c, 'hi');
      await alice.next((f) => f.type === 'message.created' && f.conversation_id === c);
      const p = await alice.next((f) => f.type === 'presence' && f.user_id === b.user_id);
      assert.equal(p.online, true);
      await Promise.all([alice.close(), bob.close()]);
    } finally {
      await h.close();
    }
  });

  it('shows who is online to people sharing a conversation only, across gateways and devices, and expires a dead gateway’s users', async () => {
    const h = await startTestGateways({ presenceTtlMs: 10_000 }, 2);
    try {
      const [a, b, eve] = [await h.api.user('alice'), await h.api.user('bob'), await h.api.user('eve')];
      await h.conversation(a, [b]);
      const alice = new TestClient(h.gateways[0]!.url, { token: a.token });
      const outsider = new TestClient(h.gateways[0]!.url, { token: eve.token });
      await Promise.all([alice, outsider].map((c) => c.next((f) => f.type === 'ready')));
      const phone = new TestClient(h.gateways[1]!.url, { token: b.token });
      const online = await alice.next((f) => f.type === 'presence' && f.user_id === b.user_id);
      assert.equal(online.online, true);
      const laptop = new TestClient(h.gateways[0]!.url, { token: b.token });
      await laptop.next((f) => f.type === 'ready');
      await phone.close(); // still on the laptop: stays online
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(alice.frames.filter((f) => f.type === 'presence' && f.user_id === b.user_id).length, 1);
      await laptop.close();
      const offline = await alice.next((f) => f.type === 'presence' && f.user_id === b.user_id && f.online === false);
      assert.ok(offline.last_seen);
      assert.equal(outsider.frames.filter((f) => f.type === 'presence' && f.user_id === b.user_id).length, 0, 'eve shares no conversation with bob');

      // A gateway that dies says nothing: its heartbeats stop and its users expire after the TTL.
      const ghost: PresenceRecord = { gateway_id: 'gateway-dead', at: Date.now(), ttl_ms: 10_000, users: [{ user_id: b.user_id, online: true, last_seen: new Date().toISOString() }] };
      await h.api.bus.publish(TOPICS.presence, [{ key: 'gateway-dead', value: JSON.stringify(ghost) }]);
      const before = alice.frames.length;
      await alice.next((f) => f.type === 'presence' && f.user_id === b.user_id && f.online === true, 5000, before);
      h.advanceClock(9_000);
      await h.gateways[0]!.presenceTick();
      assert.equal(h.gateways[0]!.presence.online(b.user_id), true, 'within the TTL');
      h.advanceClock(2_000);
      const expiredAt = alice.frames.length;
      await h.gateways[0]!.presenceTick();
      const expired = await alice.next((f) => f.type === 'presence' && f.user_id === b.user_id && f.online === false, 5000, expiredAt);
      assert.ok(Date.parse(expired.last_seen) < Date.now() + 11_000);
      // Alice's own heartbeat keeps her online on the other gateway past the same TTL.
      await h.gateways[0]!.presenceTick();
      await h.gateways[1]!.presenceTick();
      assert.equal(h.gateways[1]!.presence.online(a.user_id), true);
      await Promise.all([alice.close(), outsider.close()]);
    } finally {
      await h.close();
    }
  });
});

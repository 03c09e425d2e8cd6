import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalPlatform, metricValue } from '../support/local-platform.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { ResumingClient } from '../support/realtime-client.ts';

/**
 * Issue #14 on the real local platform (dev broker, one router, API, two push gateways as
 * separate processes): a push arrives; kill -9 of a gateway with clients connected loses them
 * nothing (they reconnect to the other and resume); an offline user catches up.
 */
describe('real-time push on the local platform', { timeout: 120_000 }, () => {
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  let api: ApiClient;
  let gateways: string[];

  before(async () => {
    platform = await startLocalPlatform({ routers: 1, gateways: 2 });
    api = new ApiClient(platform.supervisor.apiUrl);
    gateways = platform.supervisor.streamUrls;
  });
  after(async () => {
    await platform?.stop('realtime');
  });

  async function person(prefix: string) {
    const u = await api.newUser(prefix);
    const tok = await api.call<{ access_token: string }>('POST', '/auth/token', { username: u.username, password: 'correct horse battery' });
    return { ...u, token: tok.body.access_token };
  }
  async function conversation(owner: Awaited<ReturnType<typeof person>>, other: Awaited<ReturnType<typeof person>>) {
    const c = await owner.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [other.userId] });
    assert.equal(c.status, 201);
    return c.body.conversation_id;
  }
  const send = async (from: Awaited<ReturnType<typeof person>>, conversationId: string, text: string) => {
    const r = await from.client.call<{ message_id: string }>('POST', '/v1/messages', { conversation_id: conversationId, channels: ['internal'], payload: { type: 'text', text } });
    assert.equal(r.status, 202);
    return r.body.message_id;
  };

  it('lists two gateways in platform ps, each running with its ws://…/v1/stream URL', () => {
    const ps = platform.supervisor.ps().filter((p) => p.role === 'gateway');
    assert.deepEqual(ps.map((p) => p.name), ['gateway-1', 'gateway-2']);
    for (const p of ps) {
      assert.equal(p.state, 'running');
      assert.match(p.stream_url!, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/stream$/);
    }
  });

  it('pushes a message to the recipient, and the ack makes it DELIVERED for the sender to see', async () => {
    const [alice, bob] = [await person('alice'), await person('bob')];
    const c = await conversation(alice, bob);
    const bobClient = new ResumingClient([gateways[0]!], bob.token, [c]);
    const aliceClient = new ResumingClient([gateways[1]!], alice.token, [c]);
    await Promise.all([bobClient.connect(), aliceClient.connect()]);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const id = await send(alice, c, 'hello over the gateway');
    const pushed = await eventually(async () => bobClient.received.find((f) => f.message_id === id), 'the push', 10_000);
    console.log(`push: accept → frame in ${Date.now() - started} ms`);
    assert.equal(pushed.seq, 1);
    assert.ok(pushed.delivery_id);
    const view = await eventually(async () => {
      const m = await bob.client.call<{ deliveries: { recipient_id: string; status: string }[] }>('GET', `/v1/messages/${id}`);
      return m.body.deliveries.find((d) => d.recipient_id === bob.userId)?.status === 'SENT' && m;
    }, 'the delivery stays SENT until acked', 5000);
    assert.ok(view);
    (bobClient as unknown as { ws: { send(s: string): void } }).ws.send(JSON.stringify({ type: 'ack', message_id: id }));
    await eventually(async () => {
      const m = await alice.client.call<{ deliveries: { recipient_id: string; status: string }[] }>('GET', `/v1/messages/${id}`);
      return m.body.deliveries.find((d) => d.recipient_id === bob.userId)?.status === 'DELIVERED';
    }, 'DELIVERED after the ack', 10_000);
    bobClient.close();
    aliceClient.close();
  });

  it('kill -9 of a gateway with clients connected: they reconnect to the other and miss nothing', async () => {
    const [alice, bob, dave] = [await person('alice'), await person('bob'), await person('dave')];
    const toBob = await conversation(alice, bob);
    const toDave = await conversation(alice, dave);
    // Bob on two devices and Dave, all on gateway-1 first.
    const clients = [new ResumingClient(gateways, bob.token, [toBob]), new ResumingClient(gateways, bob.token, [toBob]), new ResumingClient(gateways, dave.token, [toDave])];
    await Promise.all(clients.map((c) => c.connect()));
    await new Promise((r) => setTimeout(r, 300));
    const N = 40;
    const sending = (async () => {
      for (let i = 1; i <= N; i++) {
        await Promise.all([send(alice, toBob, `b${i}`), send(alice, toDave, `d${i}`)]);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await eventually(async () => clients.every((c) => c.received.length >= 5), 'the first messages', 10_000);
    await platform.supervisor.kill('gateway-1', 'KILL');
    await sending;
    const expected = Array.from({ length: N }, (_, i) => i + 1);
    await eventually(async () => clients.every((c, i) => c.seqs(i < 2 ? toBob : toDave).length >= N), 'every message on every device', 20_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
    for (const [i, c] of clients.entries()) {
      assert.deepEqual(c.seqs(i < 2 ? toBob : toDave), expected, `client ${i}: every seq once, in order`);
      assert.ok(c.closes.includes(1006), `client ${i} lost its gateway`);
      assert.equal(c.connections.at(-1), gateways[1], `client ${i} reconnected to gateway-2`);
    }
    const g2 = platform.supervisor.ps().find((p) => p.name === 'gateway-2')!.url!;
    assert.ok((await metricValue(g2, 'gateway_replays_total')) >= 3);
    for (const c of clients) c.close();
    await platform.supervisor.startProcess('gateway-1');
  });

  it('an offline user catches up on connecting: every missed message once, in order', async () => {
    const [alice, carol] = [await person('alice'), await person('carol')];
    const c = await conversation(alice, carol);
    for (let i = 1; i <= 6; i++) await send(alice, c, `while away ${i}`);
    await eventually(async () => {
      const page = await carol.client.call<{ messages: { seq: number | null }[] }>('GET', `/v1/conversations/${c}/messages?limit=50`);
      return page.body.messages.filter((m) => m.seq !== null).length === 6;
    }, 'routing', 10_000);
    const carolClient = new ResumingClient([gateways[1]!], carol.token, [c]);
    await carolClient.connect();
    await eventually(async () => carolClient.received.length >= 6, 'the catch-up', 10_000);
    await send(alice, c, 'live now');
    await eventually(async () => carolClient.received.length >= 7, 'the live one', 10_000);
    assert.deepEqual(carolClient.seqs(c), [1, 2, 3, 4, 5, 6, 7]);
    carolClient.close();
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalPlatform, metricValue } from '../support/local-platform.ts';
import { makeConversations, startSteadyLoad, verifyAtProvider, type LoadConversation } from '../support/steady-load.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { KafkaBus } from '../../services/core/adapters/kafka/kafka-bus.ts';
import { openSqliteStores } from '../../services/core/adapters/sqlite/open-sqlite-stores.ts';
import { TOPICS } from '../../services/core/topics.ts';
import { dlqCommand } from '../../services/cli/dlq-command.ts';
import { runCli } from '../../services/cli/run-cli.ts';
import { startTestReceiver } from '../../services/webhooks/test-receiver.ts';
import { verifyWebhook } from '../../services/webhooks/verify.ts';

interface SimStats { whatsapp: { requests: number; accepted: number } }

describe('delivery guarantees at the edges (local platform, real dev broker, real simulator)', () => {
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  let conversations: LoadConversation[];
  let sim: ApiClient;
  const connectorUrl = () => platform.supervisor.ps().find((p) => p.name === 'connector-whatsapp')!.url!;

  before(async () => {
    platform = await startLocalPlatform({
      env: {
        PROVIDER_TIMEOUT_MS: '500',
        BREAKER_RESET_MS: '2000',
        BREAKER_VOLUME_THRESHOLD: '5',
        IN_DOUBT_SHORT_GRACE_MS: '500',
        RETRY_MAX_MS: '2000',
        WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
        // The relay would also route the "fixed" message of the dead-letter test: keep it out of the way.
        RELAY_AGE_MS: '60000',
      },
    });
    conversations = await makeConversations(platform.supervisor.apiUrl, 30);
    sim = new ApiClient(platform.supervisor.simUrl);
  });
  after(async () => {
    await platform?.stop('delivery-guarantees');
  });

  it('provider down for 20 s: the breaker opens, deliveries wait and drain, each delivered once in order', async () => {
    const load = startSteadyLoad(conversations, 60, 32000);
    await new Promise((r) => setTimeout(r, 3000));
    const before = (await sim.call<SimStats>('GET', '/_sim/stats')).body.whatsapp.requests;
    const downAt = Date.now();
    await sim.call('POST', '/_sim/faults', { channel: 'whatsapp', down: true });
    const openedAt = await eventually(async () => (await metricValue(connectorUrl(), 'circuit_breaker_state', { operation: 'send_text' })) === 1 && Date.now(), 'the breaker to open', 15000);
    const requestsAtOpen = (await sim.call<SimStats>('GET', '/_sim/stats')).body.whatsapp.requests;
    let maxWaiting = 0;
    while (Date.now() - downAt < 20000) {
      maxWaiting = Math.max(maxWaiting, await metricValue(connectorUrl(), 'connector_deliveries_waiting', { channel: 'whatsapp' }));
      await new Promise((r) => setTimeout(r, 500));
    }
    const requestsBeforeUp = (await sim.call<SimStats>('GET', '/_sim/stats')).body.whatsapp.requests;
    await sim.call('DELETE', '/_sim/faults');
    const upAt = Date.now();
    const result = await load.done();
    const drainedAt = await eventually(async () => (await metricValue(connectorUrl(), 'connector_deliveries_waiting', { channel: 'whatsapp' })) === 0 && Date.now(), 'the backlog to drain', 60000);
    const v = await verifyAtProvider(platform.supervisor.simUrl, result.accepted, 60000);

    const callsWhileOpen = requestsBeforeUp - requestsAtOpen;
    const probes = Math.ceil((upAt - openedAt) / 2000) + 1;
    console.log(`provider outage: accepted=${result.accepted.length} open_after=${(openedAt - downAt) / 1000}s calls_before_open=${requestsAtOpen - before} calls_while_open=${callsWhileOpen} max_waiting=${maxWaiting} drained_after=${(drainedAt - upAt) / 1000}s lost=${v.lost.length} dup=${v.duplicates.length}`);
    assert.ok(maxWaiting > 50, `deliveries waited during the outage (max ${maxWaiting})`);
    assert.ok(callsWhileOpen <= probes + 4, `only half-open probes reach the provider while open: ${callsWhileOpen} calls, ${probes} probes allowed`);
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
    assert.ok((await metricValue(connectorUrl(), 'circuit_breaker_transitions_total', { operation: 'send_text', from: 'halfOpen', to: 'closed' })) >= 1);
  });

  it('flaky provider (10 % retriable errors, 5 % timeouts): everything delivered, nothing twice', async () => {
    await sim.call('POST', '/_sim/faults', { channel: 'whatsapp', error_rate: 0.1, error_code: 130429, timeout_rate: 0.05 });
    try {
      const result = await startSteadyLoad(conversations, 60, 10000).done();
      const v = await verifyAtProvider(platform.supervisor.simUrl, result.accepted, 90000);
      console.log(`flaky provider: accepted=${result.accepted.length} lost=${v.lost.length} dup=${v.duplicates.length} ooo=${v.outOfOrder.length}`);
      assert.deepEqual(v.lost, []);
      assert.deepEqual(v.duplicates, []);
      assert.deepEqual(v.outOfOrder, []);
    } finally {
      await sim.call('DELETE', '/_sim/faults');
    }
  });

  it('a recipient the provider rejects (131026) fails with the code; the other recipient gets it; the breaker stays closed', async () => {
    const anon = new ApiClient(platform.supervisor.apiUrl);
    const a = await anon.newUser('grp');
    const good = await anon.newUser('good');
    const bad = await anon.newUser('bad');
    const goodNumber = '+5531900000001';
    const badNumber = '+5531900000002';
    await good.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: goodNumber });
    await bad.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: badNumber });
    await sim.call('POST', '/_sim/config', { undeliverable: { whatsapp: [badNumber] } });
    const conv = await a.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'group', members: [good.userId, bad.userId], name: 'g' });
    for (let i = 0; i < 8; i++) {
      const r = await a.client.call<{ message_id: string }>('POST', '/v1/messages', { conversation_id: conv.body.conversation_id, channels: ['whatsapp'], payload: { type: 'text', text: `g${i}` } });
      assert.equal(r.status, 202);
    }
    const last = (await a.client.call<{ messages: { message_id: string }[] }>('GET', `/v1/conversations/${conv.body.conversation_id}/messages`)).body;
    const ids = await eventually(async () => {
      const page = (await a.client.call<{ messages: { message_id: string }[] }>('GET', `/v1/conversations/${conv.body.conversation_id}/messages`)).body;
      return page.messages.length === 8 && page.messages.map((m) => m.message_id);
    }, 'all eight routed');
    void last;
    for (const id of ids) {
      const m = await eventually(async () => {
        const v = (await a.client.call<{ status: string; deliveries: { recipient_id: string; status: string; error?: { code: string } }[]; history: { status: string; error?: { code: string } }[] }>('GET', `/v1/messages/${id}`)).body;
        const b = v.deliveries.find((d) => d.recipient_id === bad.userId);
        return b?.status === 'FAILED' && v;
      }, 'the rejected delivery to fail');
      assert.equal(m.deliveries.find((d) => d.recipient_id === bad.userId)!.error!.code, '131026');
      assert.ok(m.history.some((h) => h.status === 'FAILED' && h.error?.code === '131026'), 'the failure and its code are in the history');
      assert.notEqual(m.deliveries.find((d) => d.recipient_id === good.userId)!.status, 'FAILED');
      assert.equal(m.status, 'FAILED', 'one recipient can no longer be reached');
    }
    await eventually(async () => (await sim.call<{ received: unknown[] }>('GET', `/_sim/received?channel=whatsapp&to=${encodeURIComponent(goodNumber)}`)).body.received.length === 8, 'the good recipient to get all eight');
    assert.equal(await metricValue(connectorUrl(), 'circuit_breaker_state', { operation: 'send_text' }), 0, 'permanent errors do not open the breaker');
  });

  it('max age: with a 2 s maximum and the provider down, deliveries end FAILED with the reason, and the client webhook hears message.failed', async () => {
    const sup = platform.supervisor;
    const receiver = await startTestReceiver([200]);
    const c0 = conversations[0]!;
    const hook = await c0.sender.call<{ webhook_id: string; secret: string }>('POST', '/v1/webhooks', { url: receiver.url, events: ['message.failed'] });
    assert.equal(hook.status, 201);
    await sup.kill('connector-whatsapp', 'TERM');
    await sup.startProcess('connector-whatsapp', { MAX_DELIVERY_AGE_MS: '2000' });
    await sim.call('POST', '/_sim/faults', { channel: 'whatsapp', down: true });
    try {
      const c = conversations[0]!;
      const r = await c.sender.call<{ message_id: string }>('POST', '/v1/messages', { conversation_id: c.conversationId, channels: ['whatsapp'], payload: { type: 'text', text: 'too late' } });
      const failed = await eventually(async () => {
        const v = (await c.sender.call<{ deliveries: { status: string; error?: { code: string; message: string } }[] }>('GET', `/v1/messages/${r.body.message_id}`)).body;
        return v.deliveries[0]?.status === 'FAILED' && v.deliveries[0];
      }, 'the delivery to expire', 20000);
      assert.equal(failed.error!.code, 'max_age_exceeded');
      assert.match(failed.error!.message, /within 2 s/);
      const callback = await eventually(async () => receiver.received.find((x) => x.body.message_id === r.body.message_id), 'the message.failed callback', 20000);
      assert.equal(callback.body.type, 'message.failed');
      assert.equal(verifyWebhook(callback.rawBody, callback.headers, hook.body.secret).valid, true);
    } finally {
      await receiver.close();
      await sim.call('DELETE', '/_sim/faults');
      await sup.kill('connector-whatsapp', 'TERM');
      await sup.startProcess('connector-whatsapp', { MAX_DELIVERY_AGE_MS: String(4 * 3600 * 1000) });
    }
  });

  it('poison records go to the dead letters without blocking their partition; a fixed one replayed is delivered', async () => {
    const sup = platform.supervisor;
    const anon = new ApiClient(sup.apiUrl);
    assert.equal((await anon.call('POST', '/auth/register', { username: 'dlq-admin', password: 'admin-password-1' })).status, 201);
    // The operator's action, against the platform's store file.
    assert.equal(await runCli(['admin', 'grant', 'dlq-admin'], { env: { STORE_DRIVER: 'sqlite', SQLITE_PATH: join(platform.dataDir, 'chat4all.db') }, stdout: () => undefined, stderr: (l) => console.error(l), readStdin: async () => '' }), 0);
    process.env.CHAT4ALL_USERNAME = 'dlq-admin';
    process.env.CHAT4ALL_PASSWORD = 'admin-password-1';
    const lines: string[] = [];
    const dlq = (...args: string[]) => dlqCommand([...args, '--api', sup.apiUrl], (l) => lines.push(l));
    const c = conversations[1]!;
    const bus = new KafkaBus({ brokers: sup.bootstrap, clientId: 'poison-test' });
    try {
      const missingId = randomUUID();
      await bus.publish(TOPICS.accepted, [
        { key: c.conversationId, value: 'garbage{' },
        { key: c.conversationId, value: JSON.stringify({ message_id: missingId, conversation_id: c.conversationId, trace_id: 't', accepted_at: new Date().toISOString() }) },
      ]);
      // The same partition keeps flowing.
      const after = await c.sender.call<{ message_id: string }>('POST', '/v1/messages', { conversation_id: c.conversationId, channels: ['whatsapp'], payload: { type: 'text', text: 'after the poison' } });
      assert.equal(after.status, 202);
      await eventually(async () => (await sim.call<{ received: { text?: string }[] }>('GET', `/_sim/received?channel=whatsapp&to=${encodeURIComponent(c.to)}`)).body.received.some((r) => r.text === 'after the poison'), 'the message behind the poison');

      const letters = await eventually(async () => {
        lines.length = 0;
        await dlq('list', '--status', 'open');
        return lines.length >= 2 && lines;
      }, 'two dead letters');
      assert.ok(letters.some((l) => /undecodable accepted-message record/.test(l)), letters.join('\n'));
      const missingLine = letters.find((l) => l.includes(missingId));
      assert.ok(missingLine, 'the record naming a missing message is a dead letter');
      const counted = (await Promise.all(sup.ps().filter((p) => p.role === 'router').map((p) => metricValue(p.url!, 'dead_letters_total')))).filter(Number.isFinite);
      assert.equal(counted.reduce((a, b) => a + b, 0), 2, 'dead_letters_total counts both');

      // The fix: the message is restored into the store (as from a backup); then replay delivers it.
      const stores = openSqliteStores(join(platform.dataDir, 'chat4all.db'));
      try {
        const conv = (await stores.conversations.getConversation(c.conversationId))!;
        await stores.messages.acceptMessage({
          message_id: missingId, conversation_id: c.conversationId, sender_id: conv.members[0]!, payload: { type: 'text', text: 'restored and replayed' },
          channels: ['whatsapp'], metadata: null, body_hash: 'restored', trace_id: 't', created_at: new Date().toISOString(),
        });
      } finally {
        await stores.close();
      }
      const id = missingLine!.split(/\s+/)[0]!;
      lines.length = 0;
      await dlq('replay', id);
      assert.match(lines[0]!, /replayed/);
      await eventually(async () => (await sim.call<{ received: { text?: string }[] }>('GET', `/_sim/received?channel=whatsapp&to=${encodeURIComponent(c.to)}`)).body.received.some((r) => r.text === 'restored and replayed'), 'the replayed message at the provider');
      lines.length = 0;
      await dlq('purge');
      assert.match(lines[0]!, /purged 1 /, 'the undecodable one was still open');
    } finally {
      await bus.close();
    }
  });
});

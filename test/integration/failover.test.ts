import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalPlatform, metricValue } from '../support/local-platform.ts';
import { makeConversations, startSteadyLoad, verifyAtProvider, type LoadConversation } from '../support/steady-load.ts';
import { eventually } from '../support/api-client.ts';
import { TOPICS } from '../../services/core/topics.ts';

const RATE = Number(process.env.FAILOVER_RATE ?? 200);

describe('the local platform loses nothing when one process dies', () => {
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  let conversations: LoadConversation[];

  before(async () => {
    // These tests are about processes dying, not about the provider's rate limit: the simulator
    // has none, and at 200 msg/s to one WhatsApp number our own pacing (80/s) would be the limit.
    platform = await startLocalPlatform({ env: { WHATSAPP_RATE_PER_SENDER: '0' } });
    conversations = await makeConversations(platform.supervisor.apiUrl, 50);
  });
  after(async () => {
    await platform?.stop('failover');
  });

  const routerUrl = (name: string) => platform.supervisor.ps().find((p) => p.name === name)!.url!;

  it('router kill -9 under load: everything delivered once, in order; the survivor takes every partition', async () => {
    const sup = platform.supervisor;
    // Both routers share the partitions before the fault.
    await eventually(async () => {
      const a = await metricValue(routerUrl('router-1'), 'kafka_consumer_assigned_partitions', { topic: TOPICS.accepted });
      const b = await metricValue(routerUrl('router-2'), 'kafka_consumer_assigned_partitions', { topic: TOPICS.accepted });
      return a + b === sup.partitions && a > 0 && b > 0;
    }, 'two routers sharing the partitions', 30000);
    const load = startSteadyLoad(conversations, RATE, 12000);
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = Date.now();
    await sup.kill('router-1', 'KILL');
    const takeover = await eventually(async () => {
      const n = await metricValue(routerUrl('router-2'), 'kafka_consumer_assigned_partitions', { topic: TOPICS.accepted });
      return n === sup.partitions && Date.now();
    }, 'the survivor to own every partition', 40000);
    const result = await load.done();
    const takeoverSeconds = (takeover - killedAt) / 1000;
    assert.ok(takeoverSeconds <= 2 * 6 + 6, `takeover in ${takeoverSeconds}s, bound is about 2 × session timeout`);
    assert.ok(result.accepted.length > RATE * 6, `accepted ${result.accepted.length}`);
    const v = await verifyAtProvider(sup.simUrl, result.accepted, 60000);
    assert.deepEqual(v.lost, [], 'nothing lost');
    assert.deepEqual(v.duplicates, [], 'nothing twice');
    assert.deepEqual(v.outOfOrder, [], 'per-conversation order');
    console.log(`router kill: accepted=${result.accepted.length} answers=${JSON.stringify(result.answers)} takeover=${takeoverSeconds}s`);
    await sup.startProcess('router-1');
  });

  async function runWithFault(label: string, fault: () => Promise<void>, opts: { durationMs?: number } = {}) {
    const load = startSteadyLoad(conversations, RATE, opts.durationMs ?? 10000);
    await new Promise((r) => setTimeout(r, 3000));
    await fault();
    const result = await load.done();
    const v = await verifyAtProvider(platform.supervisor.simUrl, result.accepted, 90000);
    console.log(`${label}: accepted=${result.accepted.length} answers=${JSON.stringify(result.answers)} lost=${v.lost.length} dup=${v.duplicates.length} ooo=${v.outOfOrder.length}`);
    return { result, v };
  }

  it('connector kill -9 and restart under load: everything delivered once, in order', async () => {
    const sup = platform.supervisor;
    const { result, v } = await runWithFault('connector kill', async () => {
      await sup.kill('connector-whatsapp', 'KILL');
      await new Promise((r) => setTimeout(r, 2000));
      await sup.startProcess('connector-whatsapp');
    });
    assert.equal(result.failed.length, 0);
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
  });

  it('scale routers 2 → 3 at run time: the new router takes partitions and works; nothing lost or reordered', async () => {
    const sup = platform.supervisor;
    const { v } = await runWithFault('scale', async () => {
      await sup.scale('router', 3);
      await eventually(async () => {
        const n = await metricValue(routerUrl('router-3'), 'kafka_consumer_assigned_partitions', { topic: TOPICS.accepted });
        return n > 0;
      }, 'router-3 to get partitions', 30000);
    });
    assert.ok((await metricValue(routerUrl('router-3'), 'messages_processed_total')) > 0, 'router-3 routed messages');
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
    await sup.scale('router', 2);
  });

  it('API kill -9 under load: every 202 is delivered; an errored request retried with its message_id is delivered once', async () => {
    const sup = platform.supervisor;
    const { result, v } = await runWithFault('api kill', async () => {
      await sup.kill('api', 'KILL');
      await new Promise((r) => setTimeout(r, 1000));
      await sup.startProcess('api');
    });
    assert.ok(result.failed.length > 0, 'some requests met the dead API');
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
    // What a client does after an error: send again with the same message_id.
    const retried = [];
    for (const f of result.failed) {
      const c = conversations[f.record.conversation]!;
      const r = await c.sender.call('POST', '/v1/messages', {
        message_id: f.record.message_id, conversation_id: c.conversationId, channels: ['whatsapp'], payload: { type: 'text', text: f.record.text },
      });
      assert.equal(r.status, 202);
      retried.push(f.record);
    }
    const again = await verifyAtProvider(sup.simUrl, retried, 60000);
    assert.deepEqual(again.lost, []);
    assert.deepEqual(again.duplicates, [], 'a retry after an error never makes a second message');
  });

  it('broker down for 10 s under load: the API keeps accepting durably; everything is delivered once after recovery', async () => {
    const sup = platform.supervisor;
    const { result, v } = await runWithFault('broker outage', async () => {
      await sup.brokerFault('down');
      await new Promise((r) => setTimeout(r, 10000));
      await sup.brokerFault('up');
    }, { durationMs: 16000 });
    for (const status of Object.keys(result.answers)) assert.ok(status === '202' || status === '503', `answers: ${JSON.stringify(result.answers)}`);
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
  });

  it('dev broker restart (all its data lost): everything accepted before and after is delivered once', async () => {
    const sup = platform.supervisor;
    const { v } = await runWithFault('broker restart', async () => {
      await sup.kill('broker', 'KILL');
      await new Promise((r) => setTimeout(r, 1000));
      await sup.startProcess('broker');
    }, { durationMs: 12000 });
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.outOfOrder, []);
  });
});

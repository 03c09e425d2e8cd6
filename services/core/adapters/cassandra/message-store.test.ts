import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CqlEmulator } from '../../../../test/contracts/cql-emulator/cql-emulator.ts';
import { conversation, crashing, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import type { CqlSession } from './session.ts';
import { CQL } from './statements.ts';

const iso = () => new Date().toISOString();

describe('CassandraMessageStore on real-sized reads and racing routers', () => {
  it('reads every page of members, deliveries and history', async () => {
    const stores = emulatedStores(await emulatorWithSchema(undefined, { pageSize: 2 }));
    const { members, conversation_id, accept } = await conversation(stores, 7);
    assert.deepEqual((await stores.conversations.getConversation(conversation_id))?.members, members);
    const m = await accept();
    const plan = members.slice(1).map((recipient_id) => ({ recipient_id, channel: 'internal' as const, address: null }));
    const routed = await stores.messages.routeMessage(m, plan, iso());
    assert.equal((await stores.deliveries.listDeliveries(m)).length, 6);
    assert.equal((await stores.messages.history(m)).length, 7, 'the acceptance and one entry per delivery');
    const again = await stores.messages.routeMessage(m, plan, iso());
    assert.deepEqual(again.deliveries, routed.deliveries, 'the stored routing, all of it');
  });

  it('gives racing routers every seq once, without gaps', async () => {
    const emulator = await emulatorWithSchema(undefined, { pageSize: 2 });
    const { conversation_id, accept } = await conversation(emulatedStores(emulator), 2);
    const routers = Array.from({ length: 4 }, () => emulatedStores(emulator).messages);
    const messages: string[] = [];
    for (let i = 0; i < 8; i++) messages.push(await accept());
    const results = await Promise.all(messages.map((m, i) => routers[i % routers.length]!.routeMessage(m, [], iso())));
    assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    const listed = await routers[0]!.listMessages(conversation_id, 0, 100);
    assert.deepEqual(listed.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(new Set(listed.map((m) => m.message_id)), new Set(messages));
  });
});

describe('CassandraMessageStore after a crash between two writes', () => {
  /** A router whose session fails as `session` says, and a healthy one on the same data. */
  async function setUp(session: (e: CqlEmulator) => CqlSession) {
    const emulator = await emulatorWithSchema();
    const crashed = emulatedStores(session(emulator));
    const healthy = emulatedStores(emulator);
    const { members, conversation_id, accept } = await conversation(healthy, 2, { channels: ['whatsapp'] });
    return { crashed, healthy, b: members[1]!, conversation_id, accept };
  }

  it('rebuilds the query rows of a message routed just before the crash', async () => {
    const { crashed, healthy, b, conversation_id, accept } = await setUp((e) => crashing(e.connect(), (q) => q === CQL.insertDeliveryKey));
    const m = await accept();
    const plan = [{ recipient_id: b, channel: 'whatsapp' as const, address: '+55' }];
    await assert.rejects(crashed.messages.routeMessage(m, plan, iso()), /injected crash/);
    assert.equal((await healthy.messages.getMessage(m))?.seq, 1, 'the routing itself is stored');
    assert.deepEqual((await healthy.messages.listMessages(conversation_id, 0, 10)).map((x) => [x.message_id, x.seq]), [[m, 1]], 'listed by seq already');
    const [delivery] = await healthy.deliveries.listDeliveries(m);
    assert.equal(await healthy.deliveries.getDelivery(delivery!.delivery_id), null, 'its lookup row is missing');

    // The outbox relay's scan finds it still queued as unrouted, and finishes the job.
    assert.deepEqual(await healthy.messages.listUnrouted(new Date(Date.now() + 1000).toISOString(), 10), []);
    assert.equal((await healthy.deliveries.getDelivery(delivery!.delivery_id))?.status, 'SENT');
    assert.deepEqual((await healthy.deliveries.listUnsentBefore(conversation_id, 'whatsapp', 2)).map((d) => d.delivery_id), [delivery!.delivery_id]);
    const again = await healthy.messages.routeMessage(m, plan, iso());
    assert.deepEqual([again.seq, again.routedNow], [1, false]);
    assert.deepEqual(again.deliveries, [delivery]);
  });

  it('finishes a routing whose seq was taken before the crash, so no seq is skipped', async () => {
    const { crashed, healthy, b, conversation_id, accept } = await setUp((e) => crashing(e.connect(), (q) => q === CQL.setSeq));
    const m1 = await accept();
    const m2 = await accept();
    const plan = [{ recipient_id: b, channel: 'internal' as const, address: null }];
    await assert.rejects(crashed.messages.routeMessage(m1, plan, iso()), /injected crash/);
    assert.equal((await healthy.messages.getMessage(m1))?.seq, null);
    assert.deepEqual((await healthy.messages.listMessages(conversation_id, 0, 10)).map((x) => x.message_id), [m1], 'its seq is taken');

    // Another router, routing the next message, first applies the routing m1 had claimed.
    const routed = await healthy.messages.routeMessage(m2, plan, iso());
    assert.equal(routed.seq, 2);
    assert.deepEqual((await healthy.messages.listMessages(conversation_id, 0, 10)).map((x) => [x.message_id, x.seq]), [[m1, 1], [m2, 2]]);
    assert.equal((await healthy.deliveries.listDeliveries(m1)).length, 1);
    const replay = await healthy.messages.routeMessage(m1, plan, iso());
    assert.deepEqual([replay.seq, replay.routedNow], [1, false]);
  });
});

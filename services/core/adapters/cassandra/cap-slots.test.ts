import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { crashing, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import { CapReached } from '../../cap-reached.ts';
import { STALE_SLOT_MS } from './cap-slots.ts';
import { CQL } from './statements.ts';

const iso = () => new Date().toISOString();
const hook = (owner_id: string) => ({ webhook_id: randomUUID(), owner_id, url: 'https://example.test/h', events: ['message.sent'], secret: 's', created_at: iso() });

describe('CapSlots on the CQL emulator', () => {
  it('counts a group’s first members and items written before caps (they get slots at the first capped write)', async () => {
    const emulator = await emulatorWithSchema(undefined, { pageSize: 2 });
    const stores = emulatedStores(emulator);
    const members = Array.from({ length: 4 }, () => randomUUID());
    const conversation_id = randomUUID();
    await stores.conversations.createConversation({ conversation_id, type: 'group', members, name: 'g', metadata: null, created_at: iso() });
    assert.equal(emulator.dump('cap_slots').length, 0, 'creating a group claims no slots');
    // Six parallel adds at a cap of 5 with 4 members and no slots yet: exactly one gets in.
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => stores.conversations.addMember(conversation_id, randomUUID(), iso(), { max: 5 })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal((await stores.conversations.getConversation(conversation_id))!.members.length, 5);
    assert.equal(emulator.dump('cap_slots').length, 5, 'one slot per member, none twice');

    // Webhooks made without a cap (before caps existed) count too.
    const owner = randomUUID();
    for (let i = 0; i < 3; i++) await stores.webhooks.createWebhook(hook(owner));
    await assert.rejects(stores.webhooks.createWebhook(hook(owner), { max: 3 }), CapReached);
    assert.equal((await stores.webhooks.listWebhooks(owner)).length, 3);
    // A lowered cap keeps what exists and refuses more until the owner is under it.
    await assert.rejects(stores.webhooks.createWebhook(hook(owner), { max: 2 }), CapReached);
  });

  it('takes back the slot of a write that never happened, once it is stale', async () => {
    let now = Date.now();
    const emulator = await emulatorWithSchema(() => now);
    const healthy = emulatedStores(emulator, { now: () => now });
    const owner = randomUUID();
    await healthy.webhooks.createWebhook(hook(owner), { max: 2 });
    // A process that stops after claiming its slot, before writing the webhook.
    const dying = emulatedStores(crashing(emulator.connect(), (q) => q === CQL.insertWebhook), { now: () => now });
    await assert.rejects(dying.webhooks.createWebhook(hook(owner), { max: 2 }), /injected crash/);
    // Its release ran (the error was seen); a process killed outright leaves the slot instead.
    const killed = emulatedStores(crashing(emulator.connect(), (q) => q === CQL.insertWebhook || q === CQL.releaseCapSlot, 2), { now: () => now });
    await assert.rejects(killed.webhooks.createWebhook(hook(owner), { max: 2 }), /injected crash/);
    assert.equal(emulator.dump('cap_slots').length, 2, 'the leftover slot is still held');
    await assert.rejects(healthy.webhooks.createWebhook(hook(owner), { max: 2 }), CapReached, 'a fresh claim may still be writing');
    now += STALE_SLOT_MS + 1;
    await healthy.webhooks.createWebhook(hook(owner), { max: 2 });
    assert.equal((await healthy.webhooks.listWebhooks(owner)).length, 2);
  });

  it('frees an identity’s slot on unlink, and a refused link of another user’s address takes none', async () => {
    const emulator = await emulatorWithSchema();
    const stores = emulatedStores(emulator);
    const [u1, u2] = [randomUUID(), randomUUID()];
    await stores.users.linkIdentity({ user_id: u2, channel: 'whatsapp', address: '+5511000000001', linked_at: iso() }, { max: 1 });
    await assert.rejects(stores.users.linkIdentity({ user_id: u1, channel: 'whatsapp', address: '+5511000000001', linked_at: iso() }, { max: 1 }), /another user/);
    await stores.users.linkIdentity({ user_id: u1, channel: 'whatsapp', address: '+5511000000002', linked_at: iso() }, { max: 1 });
    assert.equal(await stores.users.unlinkIdentity(u1, 'whatsapp', '+5511000000002'), true);
    await stores.users.linkIdentity({ user_id: u1, channel: 'whatsapp', address: '+5511000000003', linked_at: iso() }, { max: 1 });
    assert.equal(emulator.dump('cap_slots').length, 2, 'u2 and u1 hold one each');
  });
});

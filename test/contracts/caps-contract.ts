import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CapReached } from '../../services/core/cap-reached.ts';
import { conversation, eachTestStores, id, now, type StoresFactory } from './store-fixtures.ts';

/** Splits the outcomes of parallel writes: how many were written, and that every refusal is the cap's. */
function outcomes(results: PromiseSettledResult<unknown>[], code: string) {
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of refused) {
    assert.ok(r.reason instanceof CapReached, `refused by the cap, not by ${String(r.reason)}`);
    assert.equal(r.reason.code, code);
    assert.equal(r.reason.status, 409);
  }
  return { written: results.length - refused.length, refused: refused.length };
}

/**
 * The caps the stores enforce at write time: N writes in parallel at a cap of M leave exactly M
 * (never more, never fewer), and a refused write stores nothing.
 */
export function capsContract(name: string, make: StoresFactory) {
  describe(`${name}: caps at write time`, () => {
    const ctx = eachTestStores(make);

    it('links at most the cap of identities per user and channel, whatever runs in parallel', async () => {
      const { users } = ctx.stores;
      const user_id = id();
      const max = 3;
      const addresses = Array.from({ length: 8 }, (_, i) => `+5511${Date.now() % 1e6}${i}${Math.floor(Math.random() * 1e4)}`);
      const results = await Promise.allSettled(addresses.map((address) => users.linkIdentity({ user_id, channel: 'whatsapp', address, linked_at: now() }, { max })));
      assert.deepEqual(outcomes(results, 'too_many_identities'), { written: max, refused: addresses.length - max });
      const held = (await users.listIdentities([user_id])).filter((i) => i.channel === 'whatsapp');
      assert.equal(held.length, max);
      for (const [i, r] of results.entries()) {
        assert.equal(await users.findIdentity('whatsapp', addresses[i]!).then((x) => x?.user_id ?? null), r.status === 'fulfilled' ? user_id : null, 'a refused address stays free');
      }
      // At the cap: linking a held address again is harmless, another channel has its own cap.
      await users.linkIdentity({ user_id, channel: 'whatsapp', address: held[0]!.address, linked_at: now() }, { max });
      await users.linkIdentity({ user_id, channel: 'instagram', address: `ig-${id()}`, linked_at: now() }, { max });
      // Unlinking frees a place.
      assert.equal(await users.unlinkIdentity(user_id, 'whatsapp', held[0]!.address), true);
      await users.linkIdentity({ user_id, channel: 'whatsapp', address: `+5521${Date.now() % 1e8}`, linked_at: now() }, { max });
      await assert.rejects(users.linkIdentity({ user_id, channel: 'whatsapp', address: `+5531${Date.now() % 1e8}`, linked_at: now() }, { max }), CapReached);
    });

    it('adds at most the cap of members to a group, whatever runs in parallel', async () => {
      const { conversations } = ctx.stores;
      const { conversation_id } = await conversation(ctx.stores, 3);
      const max = 5;
      const newcomers = Array.from({ length: 6 }, id);
      const results = await Promise.allSettled(newcomers.map((u) => conversations.addMember(conversation_id, u, now(), { max })));
      assert.deepEqual(outcomes(results, 'too_many_members'), { written: max - 3, refused: newcomers.length - (max - 3) });
      const members = (await conversations.getConversation(conversation_id))!.members;
      assert.equal(members.length, max);
      // A member added again at the cap is no new member.
      assert.equal((await conversations.addMember(conversation_id, members[4]!, now(), { max })).members.length, max);
      await assert.rejects(conversations.addMember(conversation_id, id(), now(), { max }), CapReached);
    });

    it('creates at most the cap of webhooks per user, whatever runs in parallel', async () => {
      const { webhooks } = ctx.stores;
      const owner_id = id();
      const max = 4;
      const hook = () => ({ webhook_id: id(), owner_id, url: 'https://example.test/hook', events: ['message.sent'], secret: 's', created_at: now() });
      const results = await Promise.allSettled(Array.from({ length: 9 }, () => webhooks.createWebhook(hook(), { max })));
      assert.deepEqual(outcomes(results, 'too_many_webhooks'), { written: max, refused: 9 - max });
      const mine = await webhooks.listWebhooks(owner_id);
      assert.equal(mine.length, max);
      // Deleting one frees a place.
      assert.equal(await webhooks.deleteWebhook(owner_id, mine[0]!.webhook_id), true);
      await webhooks.createWebhook(hook(), { max });
      await assert.rejects(webhooks.createWebhook(hook(), { max }), CapReached);
      for (const w of await webhooks.listWebhooks(owner_id)) await webhooks.deleteWebhook(owner_id, w.webhook_id);
    });
  });
}

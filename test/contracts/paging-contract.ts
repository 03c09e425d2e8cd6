import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accept, conversation, eachTestStores, id, now, type StoresFactory } from './store-fixtures.ts';

/** Paged reads: a user's conversations by cursor, and the deliveries of a page of messages in one call. */
export function pagingContract(name: string, make: StoresFactory) {
  describe(`${name}: paging`, () => {
    const ctx = eachTestStores(make);

    it('pages a user’s conversations in id order, each once, to a last page without a cursor', async () => {
      const { conversations } = ctx.stores;
      const me = id();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const conversation_id = id();
        await conversations.createConversation({ conversation_id, type: 'private', members: [me, id()], name: null, metadata: null, created_at: now() });
        ids.push(conversation_id);
      }
      await conversation(ctx.stores, 3); // someone else's
      const seen: string[] = [];
      const sizes: number[] = [];
      let after: string | undefined;
      for (let n = 0; n < 10; n++) {
        const page = await conversations.listConversations(me, after === undefined ? { limit: 3 } : { limit: 3, after });
        seen.push(...page.conversations.map((c) => c.conversation_id));
        sizes.push(page.conversations.length);
        if (page.next === null) break;
        assert.equal(page.next, page.conversations.at(-1)!.conversation_id, 'the cursor is the last id of the page');
        after = page.next;
      }
      assert.deepEqual(sizes, [3, 3, 1]);
      assert.deepEqual(seen, [...ids].sort(), 'every conversation once, in id order');
      const exact = await conversations.listConversations(me, { limit: 7 });
      assert.equal(exact.next, null, 'a page that ends exactly at the last conversation says so');
      assert.deepEqual(await conversations.listConversations(me, { limit: 3, after: seen.at(-1)! }), { conversations: [], next: null });
      assert.deepEqual(await conversations.listConversations(id(), { limit: 3 }), { conversations: [], next: null });
    });

    it('reads the deliveries of many messages in one call', async () => {
      const { messages, deliveries } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores, 3);
      const [a, b, c] = users as [string, string, string];
      const ids = [await accept(ctx.stores, conversation_id, a, 'one'), await accept(ctx.stores, conversation_id, b, 'two'), await accept(ctx.stores, conversation_id, a, 'three')];
      for (const message_id of ids.slice(0, 2)) {
        await messages.routeMessage(message_id, [{ recipient_id: c, channel: 'internal', address: null }, { recipient_id: b, channel: 'whatsapp', address: '+55' }], now());
      }
      const all = await deliveries.listDeliveriesOfMessages([...ids, id()]);
      assert.equal(all.length, 4, 'two per routed message, none for the unrouted or unknown one');
      for (const message_id of ids.slice(0, 2)) {
        assert.deepEqual(
          all.filter((d) => d.message_id === message_id).map((d) => d.delivery_id),
          (await deliveries.listDeliveries(message_id)).map((d) => d.delivery_id),
          'the same deliveries, in the same order, as one message at a time',
        );
      }
      assert.deepEqual(await deliveries.listDeliveriesOfMessages([]), []);
    });
  });
}

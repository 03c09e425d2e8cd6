import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../services/core/errors.ts';
import { accept, conversation, conversationWithMessage, eachTestStores, id, later, now, type StoresFactory } from './store-fixtures.ts';

/** The MessageStore contract: accepting, routing (seq and deliveries), the unrouted queue, history. */
export function messageStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: messages`, () => {
    const ctx = eachTestStores(make);

    it('accepts a message_id once', async () => {
      const { messages } = ctx.stores;
      const { message_id, conversation_id, a } = await conversationWithMessage(ctx.stores);
      const again = await messages.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'other' }, channels: ['all'],
        metadata: null, body_hash: 'h2', trace_id: 't', created_at: now(),
      });
      assert.equal(again.created, false);
      assert.equal(again.message.body_hash, 'h-hi', 'the first body stays');
      assert.deepEqual(again.message.payload, { type: 'text', text: 'hi' });
      assert.equal(again.message.seq, null);
      assert.equal(await messages.getMessage(id()), null);
    });

    it('routes a message once: one seq, one set of deliveries', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const plan = [{ recipient_id: b, channel: 'whatsapp' as const, address: '+5511' }];
      const first = await messages.routeMessage(message_id, plan, now());
      const second = await messages.routeMessage(message_id, plan, now());
      assert.equal(first.seq, 1);
      assert.equal(first.routedNow, true);
      assert.equal(second.routedNow, false);
      assert.equal(second.seq, 1);
      assert.deepEqual(second.deliveries.map((d) => d.delivery_id), first.deliveries.map((d) => d.delivery_id));
      assert.deepEqual(await deliveries.listDeliveries(message_id), first.deliveries);
      assert.ok(!(await messages.listUnrouted(later(1000), 1000)).some((m) => m.message_id === message_id));
      assert.equal((await messages.getMessage(message_id))?.seq, 1);
    });

    it('gives seqs in acceptance order and lists messages by seq', async () => {
      const { messages } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores);
      const [a, b] = users as [string, string];
      const m1 = await accept(ctx.stores, conversation_id, a, 'one');
      const m2 = await accept(ctx.stores, conversation_id, b, 'two');
      const m3 = await accept(ctx.stores, conversation_id, a, 'three');
      assert.deepEqual((await messages.listUnroutedBefore(m3)).map((m) => m.message_id), [m1, m2]);
      assert.deepEqual(await messages.listUnroutedBefore(m1), []);
      const unrouted = (await messages.listUnrouted(later(1000), 1000)).map((m) => m.message_id);
      for (const m of [m1, m2, m3]) assert.ok(unrouted.includes(m), 'accepted, not routed: the relay sees it');
      assert.ok(!(await messages.listUnrouted('2000-01-01T00:00:00.000Z', 1000)).some((m) => m.message_id === m1), 'only those accepted before');

      assert.equal((await messages.routeMessage(m1, [{ recipient_id: b, channel: 'internal', address: null }], now())).seq, 1);
      assert.equal((await messages.routeMessage(m2, [{ recipient_id: a, channel: 'internal', address: null }], now())).seq, 2);
      assert.deepEqual((await messages.listUnroutedBefore(m3)).map((m) => m.message_id), []);
      assert.equal((await messages.routeMessage(m3, [], now())).seq, 3);
      const listed = await messages.listMessages(conversation_id, 0, 10);
      assert.deepEqual(listed.map((m) => [m.message_id, m.seq]), [[m1, 1], [m2, 2], [m3, 3]]);
      assert.deepEqual(listed[1]!.payload, { type: 'text', text: 'two' });
      assert.deepEqual((await messages.listMessages(conversation_id, 1, 1)).map((m) => m.seq), [2]);
    });

    it('routes a batch: seqs in the order given per conversation, deliveries per message, a repeat unchanged', async () => {
      const { messages, deliveries } = ctx.stores;
      const one = await conversation(ctx.stores);
      const two = await conversation(ctx.stores);
      const [a, b] = one.users as [string, string];
      const [c, d] = two.users as [string, string];
      const m1 = await accept(ctx.stores, one.conversation_id, a, 'one');
      const n1 = await accept(ctx.stores, two.conversation_id, c, 'first');
      const m2 = await accept(ctx.stores, one.conversation_id, b, 'two');
      const n2 = await accept(ctx.stores, two.conversation_id, d, 'second');
      const plans = {
        [m1]: [{ recipient_id: b, channel: 'whatsapp' as const, address: '+5511' }],
        [n1]: [{ recipient_id: d, channel: 'internal' as const, address: null }],
        [m2]: [{ recipient_id: a, channel: 'internal' as const, address: null }, { recipient_id: a, channel: 'instagram' as const, address: '17' }],
        [n2]: [],
      };
      const requests = [m1, n1, m2, n2].map((messageId) => ({ messageId, plan: plans[messageId]! }));
      const routed = await messages.routeMessages(requests, now());
      assert.deepEqual(routed.map((r) => [r.seq, r.routedNow, r.deliveries.length]), [[1, true, 1], [1, true, 1], [2, true, 2], [2, true, 0]]);
      assert.deepEqual(await deliveries.listDeliveries(m2), routed[2]!.deliveries);
      assert.deepEqual((await messages.listMessages(one.conversation_id, 0, 10)).map((m) => m.message_id), [m1, m2]);
      const again = await messages.routeMessages([requests[2]!, requests[0]!], now());
      assert.deepEqual(again.map((r) => [r.seq, r.routedNow]), [[2, false], [1, false]]);
      assert.deepEqual(again[0]!.deliveries.map((x) => x.delivery_id), routed[2]!.deliveries.map((x) => x.delivery_id));
      assert.deepEqual(await messages.routeMessages([], now()), []);
    });

    it('refuses a batch naming a message it does not have', async () => {
      const { messages } = ctx.stores;
      const { message_id } = await conversationWithMessage(ctx.stores);
      await assert.rejects(messages.routeMessages([{ messageId: message_id, plan: [] }, { messageId: id(), plan: [] }], now()), (e: unknown) => e instanceof AppError && e.status === 404);
    });

    it('refuses to route what it does not have', async () => {
      const { messages } = ctx.stores;
      await assert.rejects(messages.routeMessage(id(), [], now()), (e: unknown) => e instanceof AppError && e.status === 404);
      const orphan = await accept(ctx.stores, id(), id());
      await assert.rejects(messages.routeMessage(orphan, [], now()), (e: unknown) => e instanceof AppError && e.status === 404);
    });

    it('starts the history with the acceptance and one entry per planned delivery, a failed plan with its reason', async () => {
      const { messages } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      assert.deepEqual((await messages.history(message_id)).map((h) => h.status), ['SENT']);
      const failed = { code: 'recipient_unreachable', message: 'no identity' };
      const { deliveries } = await messages.routeMessage(
        message_id,
        [
          { recipient_id: b, channel: 'internal', address: null },
          { recipient_id: b, channel: 'whatsapp', address: null, failed },
        ],
        now(),
      );
      const history = await messages.history(message_id);
      assert.equal(history[0]!.delivery_id, undefined, 'the acceptance belongs to no delivery');
      assert.deepEqual(
        history.slice(1).map((h) => [h.delivery_id, h.status, h.error ?? null]).sort(),
        deliveries.map((d) => [d.delivery_id, d.status, d.error]).sort(),
      );
      assert.deepEqual(deliveries.find((d) => d.status === 'FAILED')?.error, failed);
      assert.deepEqual(await messages.history(id()), []);
    });
  });
}

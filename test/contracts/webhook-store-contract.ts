import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryRecord, NewWebhookEvent } from '../../services/core/ports/webhook-store.ts';
import { conversationWithMessage, eachTestStores, id, later, now, type StoresFactory } from './store-fixtures.ts';

/** The WebhookStore contract: subscriptions, events made from the status history, leases and attempts. */
export function webhookStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: webhooks`, () => {
    const ctx = eachTestStores(make);

    it('claims webhook events fairly: skipped webhooks wait, and one webhook takes at most its share', async () => {
      const { webhooks: store } = ctx.stores;
      const owner = id();
      const [busy, quiet] = await Promise.all(
        [1, 2].map(() => store.createWebhook({ webhook_id: id(), owner_id: owner, url: 'https://example.test/hook', events: ['message.sent'], secret: 's', created_at: now() })),
      );
      const t0 = Date.now() - 60_000;
      const event = (webhook_id: string, seq: number): NewWebhookEvent => ({
        event_id: id(), webhook_id, type: 'message.sent', message_id: id(), seq, body: '{}', created_at: now(), next_attempt_at: t0, deadline: t0 + 3_600_000,
      });
      // The busy webhook's events are older: an unfair claim would take only those.
      const events = [1, 2, 3, 4].map((n) => event(busy!.webhook_id, n)).concat([5, 6].map((n) => event(quiet!.webhook_id, n)));
      await store.enqueueWebhookEvents(events, await store.webhookCursor());
      const mine = new Set([busy!.webhook_id, quiet!.webhook_id]);
      const at = Date.now();
      const claimed = async (fairness: { skipWebhooks?: string[]; perWebhook?: number }) =>
        (await store.claimWebhookEvents(at, at + 30_000, 50, fairness)).filter((e) => mine.has(e.webhook_id)).map((e) => e.webhook_id);
      assert.deepEqual(await claimed({ skipWebhooks: [busy!.webhook_id] }), [quiet!.webhook_id, quiet!.webhook_id], 'the skipped webhook waits');
      assert.deepEqual(await claimed({ perWebhook: 2 }), [busy!.webhook_id, busy!.webhook_id], 'two of the busy one; the quiet ones are leased already');
      assert.deepEqual(await claimed({}), [busy!.webhook_id, busy!.webhook_id], 'without fairness the rest');
      await store.deleteWebhook(owner, busy!.webhook_id);
      await store.deleteWebhook(owner, quiet!.webhook_id);
    });

    it('hands out the history of messages whose recipient has a webhook (for message.received)', async () => {
      const { messages, webhooks } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      await webhooks.createWebhook({ webhook_id: id(), owner_id: b, url: 'https://example.test/hook', events: ['message.received'], secret: 's', created_at: now() });
      await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'internal', address: null }], now());
      const seen: HistoryRecord[] = [];
      let cursor = Math.max(await webhooks.webhookCursor(), 0);
      for (let round = 0; round < 100; round++) {
        const { entries, lastId } = await webhooks.historyForWebhooks(cursor, 500);
        seen.push(...entries);
        if (lastId === cursor) break;
        cursor = lastId;
      }
      const mine = seen.filter((e) => e.message_id === message_id);
      assert.deepEqual(mine.map((e) => [e.status, e.recipient_id, e.channel]), [['SENT', b, 'internal']]);
    });

    it('turns history into webhook events, in order per message, each leased once', async () => {
      const { messages, deliveries, webhooks } = ctx.stores;
      const { a, b, message_id } = await conversationWithMessage(ctx.stores);
      const webhook = await webhooks.createWebhook({
        webhook_id: id(), owner_id: a, url: 'https://example.test/hook', events: ['message.delivered'], secret: 's', created_at: now(),
      });
      assert.deepEqual((await webhooks.listWebhooks(a)).map((w) => w.webhook_id), [webhook.webhook_id]);
      assert.deepEqual((await webhooks.getWebhook(webhook.webhook_id))?.events, ['message.delivered']);

      const routed = await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'internal', address: null }], now());
      const delivery_id = routed.deliveries[0]!.delivery_id;
      await deliveries.applyStatus({ delivery_id, status: 'DELIVERED', at: now(), source: 't' });
      await deliveries.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' });
      // Another sender's message, without a webhook: looked at, not handed out.
      const other = await conversationWithMessage(ctx.stores);
      await messages.routeMessage(other.message_id, [{ recipient_id: other.b, channel: 'internal', address: null }], now());

      const seen: HistoryRecord[] = [];
      let cursor = Math.max(await webhooks.webhookCursor(), 0);
      for (let round = 0; round < 100; round++) {
        const { entries, lastId } = await webhooks.historyForWebhooks(cursor, 500);
        assert.ok(lastId >= cursor, 'the cursor never goes back');
        seen.push(...entries);
        if (lastId === cursor) break;
        cursor = lastId;
      }
      const mine = seen.filter((e) => e.message_id === message_id);
      assert.deepEqual(mine.map((e) => e.status), ['SENT', 'DELIVERED', 'READ']);
      assert.ok(mine.every((e) => e.id > webhook.start_after && e.sender_id === a && e.delivery_id === delivery_id));
      assert.deepEqual(mine.map((e) => e.id), [...mine.map((e) => e.id)].sort((x, y) => x - y));
      assert.ok(!seen.some((e) => e.message_id === other.message_id), 'no webhook, no entries');

      const t0 = Date.now();
      const events: NewWebhookEvent[] = mine.map((e) => ({
        event_id: `${e.id}:${webhook.webhook_id}`, webhook_id: webhook.webhook_id, type: `message.${e.status.toLowerCase()}`,
        message_id, seq: e.id, body: JSON.stringify({ status: e.status }), created_at: now(), next_attempt_at: t0, deadline: t0 + 3_600_000,
      }));
      const pendingBefore = await webhooks.countPendingWebhookEvents();
      await webhooks.enqueueWebhookEvents(events, cursor);
      await webhooks.enqueueWebhookEvents(events, cursor - 1);
      assert.equal(await webhooks.webhookCursor(), cursor, 'moved forward, never back');
      assert.equal(await webhooks.countPendingWebhookEvents(), pendingBefore + 3, 'an event id is stored once');

      const claim = async (at: number) => (await webhooks.claimWebhookEvents(at, at + 30_000, 50)).filter((e) => e.webhook_id === webhook.webhook_id);
      const first = await claim(t0 + 1);
      assert.deepEqual(first.map((e) => e.event_id), [events[0]!.event_id], 'only the first event of a message goes out');
      assert.equal(first[0]!.lease_until, t0 + 1 + 30_000);
      assert.deepEqual(await claim(t0 + 2), [], 'leased: no one else takes it');

      await webhooks.recordWebhookAttempt(
        { event_id: events[0]!.event_id, webhook_id: webhook.webhook_id, at: now(), status_code: 500, error: 'HTTP 500', duration_ms: 5, result: 'retry' },
        { status: 'pending', next_attempt_at: t0 + 10_000 },
      );
      assert.deepEqual(await claim(t0 + 3), [], 'waiting for its retry, and still ahead of the others');
      const retried = await claim(t0 + 10_001);
      assert.deepEqual(retried.map((e) => [e.event_id, e.attempts]), [[events[0]!.event_id, 1]]);
      await webhooks.recordWebhookAttempt(
        { event_id: events[0]!.event_id, webhook_id: webhook.webhook_id, at: now(), status_code: 200, error: null, duration_ms: 7, result: 'success' },
        { status: 'delivered', next_attempt_at: t0 + 10_001 },
      );
      assert.deepEqual((await claim(t0 + 10_002)).map((e) => e.event_id), [events[1]!.event_id], 'then the next one');
      assert.equal(await webhooks.countPendingWebhookEvents(), pendingBefore + 2);

      const attempts = await webhooks.listWebhookAttempts(webhook.webhook_id, 10);
      assert.deepEqual(attempts.map((x) => [x.attempt, x.result, x.status_code]), [[2, 'success', 200], [1, 'retry', 500]], 'newest first');
      assert.equal(attempts[0]!.message_id, message_id);
      assert.equal(attempts[0]!.type, 'message.sent');

      assert.equal(await webhooks.pruneWebhookEvents(later(60_000)), 1, 'the delivered event goes');
      assert.deepEqual(await webhooks.listWebhookAttempts(webhook.webhook_id, 10), []);
      assert.equal(await webhooks.deleteWebhook(b, webhook.webhook_id), false, 'only its owner deletes it');
      assert.equal(await webhooks.deleteWebhook(a, webhook.webhook_id), true);
      assert.equal(await webhooks.getWebhook(webhook.webhook_id), null);
      assert.deepEqual(await webhooks.listWebhooks(a), []);
      assert.equal(await webhooks.countPendingWebhookEvents(), pendingBefore, 'its events went with it');
    });
  });
}

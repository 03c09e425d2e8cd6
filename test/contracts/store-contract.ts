import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { LegacyStore as MessageStore } from '../../services/core/ports/legacy-store.ts';
import type { NewWebhookEvent, HistoryRecord } from '../../services/core/ports/webhook-store.ts';
import type { DeadLetter } from '../../services/core/dead-letters.ts';
import { AppError } from '../../services/core/errors.ts';

export interface StoreFixture {
  store: MessageStore;
  /** Opens the same data again (a store that keeps nothing across a close has none). */
  reopen?: () => MessageStore | Promise<MessageStore>;
  cleanup?: () => void | Promise<void>;
}

const now = () => new Date().toISOString();
const later = (ms: number) => new Date(Date.now() + ms).toISOString();
const id = () => randomUUID();

/**
 * The MessageStore contract; every store adapter runs it. A store may be shared by all the tests
 * of one run (a Cassandra keyspace), so every test makes its own users, conversations and
 * addresses and asserts only on those.
 */
export function storeContract(name: string, make: () => StoreFixture | Promise<StoreFixture>) {
  describe(name, () => {
    let ctx: StoreFixture;
    let store: MessageStore;
    beforeEach(async () => {
      ctx = await make();
      store = ctx.store;
    });
    afterEach(async () => {
      await store.close();
      await ctx.cleanup?.();
    });

    async function conversation(members = 2) {
      const users = Array.from({ length: members }, id);
      const conversation_id = id();
      await store.createConversation({ conversation_id, type: members > 2 ? 'group' : 'private', members: users, name: null, metadata: null, created_at: now() });
      return { users, conversation_id };
    }

    async function accept(conversation_id: string, sender_id: string, text = 'hi') {
      const message_id = id();
      await store.acceptMessage({
        message_id, conversation_id, sender_id, payload: { type: 'text', text }, channels: ['all'],
        metadata: null, body_hash: `h-${text}`, trace_id: 't', created_at: now(),
      });
      return message_id;
    }

    async function conversationWithMessage() {
      const { users, conversation_id } = await conversation();
      const [a, b] = users as [string, string];
      const message_id = await accept(conversation_id, a);
      return { a, b, conversation_id, message_id };
    }

    it('refuses a taken username with a conflict', async () => {
      const username = `ana-${id()}`;
      const user_id = id();
      await store.createUser({ user_id, username, password_hash: 'x', created_at: now() });
      await assert.rejects(
        store.createUser({ user_id: id(), username, password_hash: 'y', created_at: now() }),
        (e: unknown) => e instanceof AppError && e.status === 409,
      );
      const found = await store.findUserByName(username);
      assert.equal(found?.user_id, user_id);
      assert.equal(found?.password_hash, 'x', 'the first registration keeps the name');
      assert.equal((await store.getUser(user_id))?.role, 'user');
    });

    it('links an address to one user only', async () => {
      const at = now();
      const [u1, u2, address] = [id(), id(), `+55${Date.now()}${Math.floor(Math.random() * 1000)}`];
      await store.linkIdentity({ user_id: u1, channel: 'whatsapp', address, linked_at: at });
      await store.linkIdentity({ user_id: u1, channel: 'whatsapp', address, linked_at: at });
      await assert.rejects(store.linkIdentity({ user_id: u2, channel: 'whatsapp', address, linked_at: at }), /another user/);
      assert.equal((await store.listIdentities([u1])).length, 1);
      assert.equal((await store.findIdentity('whatsapp', address))?.user_id, u1);
      assert.equal(await store.unlinkIdentity(u2, 'whatsapp', address), false, 'only the holder unlinks');
      assert.equal(await store.unlinkIdentity(u1, 'whatsapp', address), true);
      assert.equal(await store.unlinkIdentity(u1, 'whatsapp', address), false);
      assert.deepEqual(await store.listIdentities([u1]), []);
      assert.equal(await store.findIdentity('whatsapp', address), null);
    });

    it('keeps members in joining order and adds a member once', async () => {
      const { users, conversation_id } = await conversation(3);
      const newcomer = id();
      await store.addMember(conversation_id, newcomer, now());
      const after = await store.addMember(conversation_id, newcomer, now());
      assert.deepEqual(after.members, [...users, newcomer]);
      assert.deepEqual((await store.listConversations(newcomer)).map((c) => c.conversation_id), [conversation_id]);
      await assert.rejects(store.addMember(id(), newcomer, now()), (e: unknown) => e instanceof AppError && e.status === 404);
    });

    it('accepts a message_id once', async () => {
      const { message_id, conversation_id, a } = await conversationWithMessage();
      const again = await store.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'other' }, channels: ['all'],
        metadata: null, body_hash: 'h2', trace_id: 't', created_at: now(),
      });
      assert.equal(again.created, false);
      assert.equal(again.message.body_hash, 'h-hi', 'the first body stays');
      assert.deepEqual(again.message.payload, { type: 'text', text: 'hi' });
      assert.equal(again.message.seq, null);
    });

    it('routes a message once: one seq, one set of deliveries', async () => {
      const { b, message_id } = await conversationWithMessage();
      const plan = [{ recipient_id: b, channel: 'whatsapp' as const, address: '+5511' }];
      const first = await store.routeMessage(message_id, plan, now());
      const second = await store.routeMessage(message_id, plan, now());
      assert.equal(first.seq, 1);
      assert.equal(first.routedNow, true);
      assert.equal(second.routedNow, false);
      assert.equal(second.seq, 1);
      assert.deepEqual(second.deliveries.map((d) => d.delivery_id), first.deliveries.map((d) => d.delivery_id));
      assert.deepEqual(await store.listDeliveries(message_id), first.deliveries);
      assert.ok(!(await store.listUnrouted(later(1000), 1000)).some((m) => m.message_id === message_id));
      assert.equal((await store.getMessage(message_id))?.seq, 1);
    });

    it('gives seqs in acceptance order and lists messages by seq', async () => {
      const { users, conversation_id } = await conversation();
      const [a, b] = users as [string, string];
      const m1 = await accept(conversation_id, a, 'one');
      const m2 = await accept(conversation_id, b, 'two');
      const m3 = await accept(conversation_id, a, 'three');
      assert.deepEqual((await store.listUnroutedBefore(m3)).map((m) => m.message_id), [m1, m2]);
      assert.deepEqual(await store.listUnroutedBefore(m1), []);
      const unrouted = (await store.listUnrouted(later(1000), 1000)).map((m) => m.message_id);
      for (const m of [m1, m2, m3]) assert.ok(unrouted.includes(m), 'accepted, not routed: the relay sees it');
      assert.ok(!(await store.listUnrouted('2000-01-01T00:00:00.000Z', 1000)).some((m) => m.message_id === m1), 'only those accepted before');

      assert.equal((await store.routeMessage(m1, [{ recipient_id: b, channel: 'internal', address: null }], now())).seq, 1);
      assert.equal((await store.routeMessage(m2, [{ recipient_id: a, channel: 'internal', address: null }], now())).seq, 2);
      assert.deepEqual((await store.listUnroutedBefore(m3)).map((m) => m.message_id), []);
      assert.equal((await store.routeMessage(m3, [], now())).seq, 3);
      const listed = await store.listMessages(conversation_id, 0, 10);
      assert.deepEqual(listed.map((m) => [m.message_id, m.seq]), [[m1, 1], [m2, 2], [m3, 3]]);
      assert.deepEqual(listed[1]!.payload, { type: 'text', text: 'two' });
      assert.deepEqual((await store.listMessages(conversation_id, 1, 1)).map((m) => m.seq), [2]);
    });

    it('refuses to route what it does not have', async () => {
      await assert.rejects(store.routeMessage(id(), [], now()), (e: unknown) => e instanceof AppError && e.status === 404);
      const orphan = await accept(id(), id());
      await assert.rejects(store.routeMessage(orphan, [], now()), (e: unknown) => e instanceof AppError && e.status === 404);
    });

    it('applies statuses forward only and records each transition once', async () => {
      const { b, message_id } = await conversationWithMessage();
      const { deliveries } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+55' }], now());
      const delivery_id = deliveries[0]!.delivery_id;
      assert.equal((await store.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, true);
      assert.equal((await store.applyStatus({ delivery_id, status: 'DELIVERED', at: now(), source: 't' })).applied, false);
      assert.equal((await store.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, false);
      assert.equal((await store.applyStatus({ delivery_id, status: 'FAILED', at: now(), source: 't' })).applied, false);
      assert.deepEqual((await store.history(message_id)).map((h) => h.status), ['SENT', 'SENT', 'READ']);
      assert.equal((await store.getDelivery(delivery_id))!.status, 'READ');
      assert.deepEqual(await store.applyStatus({ delivery_id: id(), status: 'READ', at: now(), source: 't' }), { applied: false, delivery: null });
    });

    it('keeps a failure final, with its error in the delivery and the history', async () => {
      const { b, message_id } = await conversationWithMessage();
      const { deliveries } = await store.routeMessage(
        message_id,
        [
          { recipient_id: b, channel: 'instagram', address: '17' },
          { recipient_id: b, channel: 'whatsapp', address: null, failed: { code: 'recipient_unreachable', message: 'no identity' } },
        ],
        now(),
      );
      assert.deepEqual(deliveries.map((d) => d.status), ['SENT', 'FAILED']);
      assert.equal(deliveries[1]!.error?.code, 'recipient_unreachable');
      const error = { code: 'provider_rejected', message: 'no' };
      const failed = await store.applyStatus({ delivery_id: deliveries[0]!.delivery_id, status: 'FAILED', at: now(), error, source: 'connector' });
      assert.equal(failed.applied, true);
      assert.deepEqual(failed.delivery?.error, error);
      assert.equal((await store.applyStatus({ delivery_id: deliveries[0]!.delivery_id, status: 'DELIVERED', at: now(), source: 'provider' })).applied, false);
      const history = await store.history(message_id);
      assert.deepEqual(history.map((h) => h.status).sort(), ['FAILED', 'FAILED', 'SENT', 'SENT']);
      assert.deepEqual(history.find((h) => h.status === 'FAILED' && h.delivery_id === deliveries[0]!.delivery_id)?.error, error);
      assert.deepEqual((await store.deliveriesFor(b, [message_id])).map((d) => d.delivery_id), deliveries.map((d) => d.delivery_id));
      assert.deepEqual(await store.deliveriesFor(id(), [message_id]), []);
    });

    it('finds a delivery by the provider id and lists the ones not yet sent', async () => {
      const { b, message_id } = await conversationWithMessage();
      const { deliveries } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'instagram', address: '17' }], now());
      const delivery_id = deliveries[0]!.delivery_id;
      const undispatched = async () => (await store.listUndispatched(later(1000), 1000)).filter((d) => d.delivery_id === delivery_id);
      assert.equal((await undispatched()).length, 1);
      const ref = `mid.${id()}`;
      assert.equal(await store.recordProviderRef(delivery_id, ref), true);
      assert.equal(await store.recordProviderRef(delivery_id, ref), true, 'the same id again is fine');
      assert.equal(await store.recordProviderRef(delivery_id, `mid.${id()}`), false, 'another id means it was sent twice');
      assert.equal((await store.findDeliveryByProviderRef('instagram', ref))!.delivery_id, delivery_id);
      assert.equal(await store.findDeliveryByProviderRef('whatsapp', ref), null);
      assert.equal((await undispatched()).length, 0);
    });

    it('parks a delivery until it is due and keeps it among the unsent', async () => {
      const { b, message_id, conversation_id } = await conversationWithMessage();
      const before = await store.countUnsent('whatsapp');
      const { deliveries, seq } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+5521' }], now());
      const delivery_id = deliveries[0]!.delivery_id;
      assert.equal(await store.countUnsent('whatsapp'), before + 1);

      await store.markInFlight(delivery_id, now());
      assert.ok((await store.getDelivery(delivery_id))!.in_flight_since);
      await store.clearInFlight(delivery_id);
      assert.equal((await store.getDelivery(delivery_id))!.in_flight_since, null);

      const due = later(60_000);
      await store.parkDelivery(delivery_id, due);
      assert.equal((await store.getDelivery(delivery_id))!.next_attempt_at, due);
      const mine = <T extends { delivery_id: string }>(list: T[]) => list.filter((d) => d.delivery_id === delivery_id);
      assert.equal(mine(await store.listUndispatched(later(1000), 1000)).length, 0, 'parked is not undispatched');
      assert.equal(mine(await store.listDueParked('whatsapp', now(), 1000)).length, 0, 'not due yet');
      assert.equal(mine(await store.listDueParked('whatsapp', later(120_000), 1000)).length, 1);
      assert.equal(mine(await store.listDueParked('instagram', later(120_000), 1000)).length, 0);
      assert.deepEqual((await store.listUnsentBefore(conversation_id, 'whatsapp', seq + 1)).map((d) => [d.delivery_id, d.seq]), [[delivery_id, seq]]);
      assert.deepEqual(await store.listUnsentBefore(conversation_id, 'whatsapp', seq), []);
      assert.equal(await store.countUnsent('whatsapp'), before + 1);

      const again = later(90_000);
      await store.parkDelivery(delivery_id, again);
      assert.deepEqual(mine(await store.listDueParked('whatsapp', later(120_000), 1000)).map((d) => d.next_attempt_at), [again]);

      await store.markInFlight(delivery_id, now());
      assert.equal(await store.recordProviderRef(delivery_id, `wamid.${id()}`), true);
      const sent = (await store.getDelivery(delivery_id))!;
      assert.equal(sent.next_attempt_at, null);
      assert.equal(sent.in_flight_since, null);
      assert.equal(mine(await store.listDueParked('whatsapp', later(120_000), 1000)).length, 0);
      assert.deepEqual(await store.listUnsentBefore(conversation_id, 'whatsapp', seq + 1), []);
      assert.equal(await store.countUnsent('whatsapp'), before);
    });

    it('keeps a dead letter once per source record', async () => {
      const topic = `t-${id()}`;
      const letter = (n: number, first_seen: string): DeadLetter => ({
        id: id(), reason: `r${n}`, topic, partition: 3, offset: String(n), key: 'k', value: `v${n}`,
        headers: { trace_id: 'x' }, first_seen, status: 'open', updated_at: first_seen,
      });
      const one = letter(1, '2030-01-01T00:00:00.000Z');
      assert.deepEqual(await store.addDeadLetter(one), one);
      assert.deepEqual(await store.addDeadLetter({ ...one, id: id(), reason: 'again' }), one, 'the same record again keeps the first');
      const two = await store.addDeadLetter(letter(2, '2030-01-02T00:00:00.000Z'));
      const listed = (await store.listDeadLetters()).filter((l) => l.topic === topic);
      assert.deepEqual(listed.map((l) => l.id), [two.id, one.id], 'newest first');
      const replayed = await store.setDeadLetterStatus(one.id, 'replayed', now());
      assert.equal(replayed.status, 'replayed');
      assert.deepEqual((await store.getDeadLetter(one.id))?.status, 'replayed');
      assert.deepEqual((await store.listDeadLetters('open')).filter((l) => l.topic === topic).map((l) => l.id), [two.id]);
      assert.deepEqual((await store.listDeadLetters('replayed')).filter((l) => l.topic === topic).map((l) => l.id), [one.id]);
      await assert.rejects(store.setDeadLetterStatus(id(), 'purged', now()), (e: unknown) => e instanceof AppError && e.status === 404);
    });

    it('turns history into webhook events, in order per message, each leased once', async () => {
      const { a, b, message_id } = await conversationWithMessage();
      const webhook = await store.createWebhook({
        webhook_id: id(), owner_id: a, url: 'https://example.test/hook', events: ['message.delivered'], secret: 's', created_at: now(),
      });
      assert.deepEqual((await store.listWebhooks(a)).map((w) => w.webhook_id), [webhook.webhook_id]);
      assert.deepEqual((await store.getWebhook(webhook.webhook_id))?.events, ['message.delivered']);

      const { deliveries } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'internal', address: null }], now());
      const delivery_id = deliveries[0]!.delivery_id;
      await store.applyStatus({ delivery_id, status: 'DELIVERED', at: now(), source: 't' });
      await store.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' });
      // Another sender's message, without a webhook: looked at, not handed out.
      const other = await conversationWithMessage();
      await store.routeMessage(other.message_id, [{ recipient_id: other.b, channel: 'internal', address: null }], now());

      const seen: HistoryRecord[] = [];
      let cursor = Math.max(await store.webhookCursor(), 0);
      for (let round = 0; round < 100; round++) {
        const { entries, lastId } = await store.historyForWebhooks(cursor, 500);
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
      const pendingBefore = await store.countPendingWebhookEvents();
      await store.enqueueWebhookEvents(events, cursor);
      await store.enqueueWebhookEvents(events, cursor - 1);
      assert.equal(await store.webhookCursor(), cursor, 'moved forward, never back');
      assert.equal(await store.countPendingWebhookEvents(), pendingBefore + 3, 'an event id is stored once');

      const claim = async (at: number) => (await store.claimWebhookEvents(at, at + 30_000, 50)).filter((e) => e.webhook_id === webhook.webhook_id);
      const first = await claim(t0 + 1);
      assert.deepEqual(first.map((e) => e.event_id), [events[0]!.event_id], 'only the first event of a message goes out');
      assert.equal(first[0]!.lease_until, t0 + 1 + 30_000);
      assert.deepEqual(await claim(t0 + 2), [], 'leased: no one else takes it');

      await store.recordWebhookAttempt(
        { event_id: events[0]!.event_id, webhook_id: webhook.webhook_id, at: now(), status_code: 500, error: 'HTTP 500', duration_ms: 5, result: 'retry' },
        { status: 'pending', next_attempt_at: t0 + 10_000 },
      );
      assert.deepEqual(await claim(t0 + 3), [], 'waiting for its retry, and still ahead of the others');
      const retried = await claim(t0 + 10_001);
      assert.deepEqual(retried.map((e) => [e.event_id, e.attempts]), [[events[0]!.event_id, 1]]);
      await store.recordWebhookAttempt(
        { event_id: events[0]!.event_id, webhook_id: webhook.webhook_id, at: now(), status_code: 200, error: null, duration_ms: 7, result: 'success' },
        { status: 'delivered', next_attempt_at: t0 + 10_001 },
      );
      assert.deepEqual((await claim(t0 + 10_002)).map((e) => e.event_id), [events[1]!.event_id], 'then the next one');
      assert.equal(await store.countPendingWebhookEvents(), pendingBefore + 2);

      const attempts = await store.listWebhookAttempts(webhook.webhook_id, 10);
      assert.deepEqual(attempts.map((x) => [x.attempt, x.result, x.status_code]), [[2, 'success', 200], [1, 'retry', 500]], 'newest first');
      assert.equal(attempts[0]!.message_id, message_id);
      assert.equal(attempts[0]!.type, 'message.sent');

      assert.equal(await store.pruneWebhookEvents(later(60_000)), 1, 'the delivered event goes');
      assert.deepEqual(await store.listWebhookAttempts(webhook.webhook_id, 10), []);
      assert.equal(await store.deleteWebhook(b, webhook.webhook_id), false, 'only its owner deletes it');
      assert.equal(await store.deleteWebhook(a, webhook.webhook_id), true);
      assert.equal(await store.getWebhook(webhook.webhook_id), null);
      assert.deepEqual(await store.listWebhooks(a), []);
      assert.equal(await store.countPendingWebhookEvents(), pendingBefore, 'its events went with it');
    });

    it('claims webhook events fairly: skipped webhooks wait, and one webhook takes at most its share', async () => {
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

    it('keeps accepted messages across a reopen', async (t) => {
      if (!ctx.reopen) {
        t.skip('this store keeps nothing across a close');
        return;
      }
      const { message_id } = await conversationWithMessage();
      await store.close();
      store = await ctx.reopen();
      assert.ok(await store.getMessage(message_id));
      assert.equal(await store.healthy(), true);
    });
  });
}

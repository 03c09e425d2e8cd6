import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { conversationWithMessage, eachTestStores, id, later, now, type StoresFactory } from './store-fixtures.ts';

/** The DeliveryStore contract: status (forward only), provider ids, in-flight marks, parking, the unsent queues. */
export function deliveryStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: deliveries`, () => {
    const ctx = eachTestStores(make);

    it('applies statuses forward only and records each transition once', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+55' }], now());
      const delivery_id = routed.deliveries[0]!.delivery_id;
      assert.equal((await deliveries.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, true);
      assert.equal((await deliveries.applyStatus({ delivery_id, status: 'DELIVERED', at: now(), source: 't' })).applied, false);
      assert.equal((await deliveries.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, false);
      assert.equal((await deliveries.applyStatus({ delivery_id, status: 'FAILED', at: now(), source: 't' })).applied, false);
      assert.deepEqual((await messages.history(message_id)).map((h) => h.status), ['SENT', 'SENT', 'READ']);
      assert.equal((await deliveries.getDelivery(delivery_id))!.status, 'READ');
      assert.deepEqual(await deliveries.applyStatus({ delivery_id: id(), status: 'READ', at: now(), source: 't' }), { applied: false, delivery: null });
      assert.equal(await deliveries.getDelivery(id()), null);
    });

    it('applies a batch of statuses in order, one result each, as one by one would (a webhook of several statuses)', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(
        message_id,
        [
          { recipient_id: b, channel: 'whatsapp', address: '+55' },
          { recipient_id: b, channel: 'instagram', address: '17' },
        ],
        now(),
      );
      const [wa, ig] = routed.deliveries.map((d) => d.delivery_id) as [string, string];
      const missing = id();
      const results = await deliveries.applyStatuses([
        { delivery_id: wa, status: 'DELIVERED', at: now(), source: 'provider' },
        { delivery_id: ig, status: 'READ', at: now(), source: 'provider' },
        { delivery_id: wa, status: 'READ', at: now(), source: 'provider' },
        { delivery_id: missing, status: 'READ', at: now(), source: 'provider' },
        { delivery_id: wa, status: 'DELIVERED', at: now(), source: 'provider' },
        { delivery_id: ig, status: 'READ', at: now(), source: 'provider' },
      ]);
      assert.deepEqual(results.map((r) => r.applied), [true, true, true, false, false, false], 'forward only, each on what the previous left');
      assert.deepEqual(results.map((r) => r.delivery?.delivery_id ?? null), [wa, ig, wa, null, wa, ig]);
      assert.deepEqual(results.map((r) => r.delivery?.status ?? null), ['DELIVERED', 'READ', 'READ', null, 'READ', 'READ']);
      assert.equal((await deliveries.getDelivery(wa))!.status, 'READ');
      assert.deepEqual(results[2]!.delivery, await deliveries.getDelivery(wa), 'an applied status answers the delivery as stored');
      const history = (await messages.history(message_id)).filter((h) => h.delivery_id === wa).map((h) => h.status);
      assert.deepEqual(history, ['SENT', 'DELIVERED', 'READ'], 'each transition recorded once');
      assert.deepEqual(await deliveries.applyStatuses([]), []);
    });

    it('keeps a failure final, with its error in the delivery and the history', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(
        message_id,
        [
          { recipient_id: b, channel: 'instagram', address: '17' },
          { recipient_id: b, channel: 'whatsapp', address: null, failed: { code: 'recipient_unreachable', message: 'no identity' } },
        ],
        now(),
      );
      const [sent, unreachable] = routed.deliveries as [(typeof routed.deliveries)[0], (typeof routed.deliveries)[0]];
      assert.deepEqual(routed.deliveries.map((d) => d.status), ['SENT', 'FAILED']);
      assert.equal(unreachable.error?.code, 'recipient_unreachable');
      const error = { code: 'provider_rejected', message: 'no' };
      const failed = await deliveries.applyStatus({ delivery_id: sent.delivery_id, status: 'FAILED', at: now(), error, source: 'connector' });
      assert.equal(failed.applied, true);
      assert.deepEqual(failed.delivery?.error, error);
      assert.deepEqual(failed.delivery, await deliveries.getDelivery(sent.delivery_id), 'the failed delivery as stored');
      assert.equal((await deliveries.applyStatus({ delivery_id: sent.delivery_id, status: 'DELIVERED', at: now(), source: 'provider' })).applied, false);
      const history = await messages.history(message_id);
      assert.deepEqual(history.map((h) => h.status).sort(), ['FAILED', 'FAILED', 'SENT', 'SENT']);
      assert.deepEqual(history.find((h) => h.status === 'FAILED' && h.delivery_id === sent.delivery_id)?.error, error);
      assert.deepEqual((await deliveries.deliveriesFor(b, [message_id])).map((d) => d.delivery_id), routed.deliveries.map((d) => d.delivery_id));
      assert.deepEqual(await deliveries.deliveriesFor(id(), [message_id]), []);
      assert.deepEqual(await deliveries.deliveriesFor(b, []), []);
    });

    it('finds a delivery by the provider id and lists the ones not yet sent', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'instagram', address: '17' }], now());
      const delivery_id = routed.deliveries[0]!.delivery_id;
      const undispatched = async () => (await deliveries.listUndispatched(later(1000), 1000)).filter((d) => d.delivery_id === delivery_id);
      assert.equal((await undispatched()).length, 1);
      const ref = `mid.${id()}`;
      assert.equal(await deliveries.recordProviderRef(delivery_id, ref), true);
      assert.equal(await deliveries.recordProviderRef(delivery_id, ref), true, 'the same id again is fine');
      assert.equal(await deliveries.recordProviderRef(delivery_id, `mid.${id()}`), false, 'another id means it was sent twice');
      assert.equal((await deliveries.findDeliveryByProviderRef('instagram', ref))!.delivery_id, delivery_id);
      assert.equal(await deliveries.findDeliveryByProviderRef('whatsapp', ref), null);
      assert.equal((await undispatched()).length, 0);
    });

    it('marks many in flight and records many provider ids at once, one result each, as one by one would', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id, conversation_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(
        message_id,
        [
          { recipient_id: b, channel: 'whatsapp', address: '+5511' },
          { recipient_id: b, channel: 'instagram', address: '18' },
        ],
        now(),
      );
      const [wa, ig] = routed.deliveries.map((d) => d.delivery_id) as [string, string];
      const at = now();
      await deliveries.markManyInFlight([wa, ig, id()], at);
      assert.deepEqual([(await deliveries.getDelivery(wa))!.in_flight_since, (await deliveries.getDelivery(ig))!.in_flight_since], [at, at]);
      await deliveries.markManyInFlight([], at);

      const [waRef, igRef, otherRef] = [`wamid.${id()}`, `mid.${id()}`, `wamid.${id()}`];
      const results = await deliveries.recordProviderRefs([
        { delivery_id: wa, provider_message_id: waRef },
        { delivery_id: ig, provider_message_id: igRef },
        { delivery_id: wa, provider_message_id: waRef },
        { delivery_id: wa, provider_message_id: otherRef },
        { delivery_id: id(), provider_message_id: otherRef },
      ]);
      assert.deepEqual(results, [true, true, true, false, false], 'the same id again is fine; another id or no delivery is not');
      const sent = (await deliveries.getDelivery(wa))!;
      assert.equal(sent.provider_message_id, waRef);
      assert.equal(sent.in_flight_since, null, 'recording the id ends the in-flight mark');
      assert.equal((await deliveries.findDeliveryByProviderRef('instagram', igRef))!.delivery_id, ig);
      assert.deepEqual(await deliveries.listUnsentBefore(conversation_id, 'whatsapp', routed.seq + 1), []);
      assert.equal((await deliveries.lastReplyTarget('whatsapp', '+5511'))?.conversation_id, conversation_id);
      assert.deepEqual(await deliveries.recordProviderRefs([]), []);
    });

    it('notes a fallback in the history with the status it had, in time order, without changing the status', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id } = await conversationWithMessage(ctx.stores);
      const routed = await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+55' }], later(10));
      const delivery_id = routed.deliveries[0]!.delivery_id;
      await deliveries.recordProviderRef(delivery_id, `wamid.${id()}`);
      const fallback = { fallback: 'link', reason: 'over_channel_limit' } as const;
      assert.equal(await deliveries.recordFallback(delivery_id, fallback, later(20)), true);
      await deliveries.applyStatus({ delivery_id, status: 'DELIVERED', at: later(30), source: 't' });
      const history = await messages.history(message_id);
      assert.deepEqual(
        history.map((h) => [h.status, h.fallback ?? null, h.reason ?? null]),
        [['SENT', null, null], ['SENT', null, null], ['SENT', 'link', 'over_channel_limit'], ['DELIVERED', null, null]],
      );
      const note = history[2]!;
      assert.equal(note.delivery_id, delivery_id);
      assert.equal(note.recipient_id, b);
      assert.equal(note.channel, 'whatsapp');
      assert.equal((await deliveries.getDelivery(delivery_id))!.status, 'DELIVERED', 'a note is not a status change');
      assert.equal(await deliveries.recordFallback(id(), fallback, now()), false);
    });

    it('parks a delivery until it is due and keeps it among the unsent', async () => {
      const { messages, deliveries } = ctx.stores;
      const { b, message_id, conversation_id } = await conversationWithMessage(ctx.stores);
      const before = await deliveries.countUnsent('whatsapp');
      const routed = await messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+5521' }], now());
      const { seq } = routed;
      const delivery_id = routed.deliveries[0]!.delivery_id;
      assert.equal(await deliveries.countUnsent('whatsapp'), before + 1);

      await deliveries.markInFlight(delivery_id, now());
      assert.ok((await deliveries.getDelivery(delivery_id))!.in_flight_since);
      await deliveries.clearInFlight(delivery_id);
      assert.equal((await deliveries.getDelivery(delivery_id))!.in_flight_since, null);

      const due = later(60_000);
      await deliveries.parkDelivery(delivery_id, due);
      assert.equal((await deliveries.getDelivery(delivery_id))!.next_attempt_at, due);
      const mine = <T extends { delivery_id: string }>(list: T[]) => list.filter((d) => d.delivery_id === delivery_id);
      assert.equal(mine(await deliveries.listUndispatched(later(1000), 1000)).length, 0, 'parked is not undispatched');
      assert.equal(mine(await deliveries.listDueParked('whatsapp', now(), 1000)).length, 0, 'not due yet');
      assert.equal(mine(await deliveries.listDueParked('whatsapp', later(120_000), 1000)).length, 1);
      assert.equal(mine(await deliveries.listDueParked('instagram', later(120_000), 1000)).length, 0);
      assert.deepEqual((await deliveries.listUnsentBefore(conversation_id, 'whatsapp', seq + 1)).map((d) => [d.delivery_id, d.seq]), [[delivery_id, seq]]);
      assert.deepEqual(await deliveries.listUnsentBefore(conversation_id, 'whatsapp', seq), []);
      assert.equal(await deliveries.countUnsent('whatsapp'), before + 1);

      const again = later(90_000);
      await deliveries.parkDelivery(delivery_id, again);
      assert.deepEqual(mine(await deliveries.listDueParked('whatsapp', later(120_000), 1000)).map((d) => d.next_attempt_at), [again]);

      await deliveries.markInFlight(delivery_id, now());
      assert.equal(await deliveries.recordProviderRef(delivery_id, `wamid.${id()}`), true);
      const sent = (await deliveries.getDelivery(delivery_id))!;
      assert.equal(sent.next_attempt_at, null);
      assert.equal(sent.in_flight_since, null);
      assert.equal(mine(await deliveries.listDueParked('whatsapp', later(120_000), 1000)).length, 0);
      assert.deepEqual(await deliveries.listUnsentBefore(conversation_id, 'whatsapp', seq + 1), []);
      assert.equal(await deliveries.countUnsent('whatsapp'), before);
    });
  });
}

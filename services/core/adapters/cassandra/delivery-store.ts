import { awaitsProvider } from '../../domain/delivery.ts';
import { canTransition } from '../../domain/status.ts';
import type { Delivery, DeliveryError, DeliveryFallback, ExternalChannel, StatusEvent } from '../../domain/types.ts';
import { unavailable } from '../../errors.ts';
import type { ApplyResult, DeliveryStore, ProviderRef } from '../../ports/delivery-store.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { CAS_ATTEMPTS, isoKey } from './keys.ts';
import { readMessage } from './read-message.ts';
import { publicDelivery, toDelivery, toStoredDelivery, type StoredDelivery, type StoredHistory } from './rows.ts';
import { CQL } from './statements.ts';
import { cmp, json, num, parse } from './values.ts';

/**
 * Deliveries on Cassandra: rows of their message's partition (found through `deliveries_by_id`),
 * with the queues of those that wait for a provider. Every write of a delivery row is a
 * lightweight transaction (see `CQL.setInFlight`).
 */
export class CassandraDeliveryStore implements DeliveryStore {
  constructor(private readonly ctx: CassandraContext) {}

  private async readDelivery(deliveryId: string, serial = false): Promise<StoredDelivery | null> {
    const key = (await this.ctx.db.run(CQL.deliveryKey, [deliveryId])).rows[0];
    if (!key) return null;
    const r = (await this.ctx.db.run(CQL.delivery, [key.message_id, key.ord, deliveryId], { serial })).rows[0];
    return r && r.status !== null && r.status !== undefined ? toStoredDelivery(r) : null;
  }

  async getDelivery(id: string) {
    const d = await this.readDelivery(id);
    return d ? publicDelivery(d) : null;
  }

  async listDeliveries(messageId: string) {
    return (await this.ctx.db.rows(CQL.deliveriesOf, [messageId])).map(toDelivery);
  }

  async listDeliveriesOfMessages(messageIds: string[]) {
    // One partition per message: the reads go out in parallel (bounded), not one after another.
    const perMessage = await eachLimited([...new Set(messageIds)], PARALLEL, (id) => this.listDeliveries(id));
    return perMessage.flat();
  }

  async deliveriesFor(recipientId: string, messageIds: string[]) {
    const perMessage = await eachLimited([...new Set(messageIds)], PARALLEL, async (id) =>
      (await this.ctx.db.rows(CQL.deliveriesOf, [id])).map(toStoredDelivery).filter((d) => d.recipient_id === recipientId),
    );
    return perMessage
      .flat()
      .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || cmp(a.at, b.at) || a.ord - b.ord)
      .map(publicDelivery);
  }

  async listUndispatched(before: string, limit: number) {
    const { queues } = this.ctx;
    const upTo = isoKey(before);
    const items = (await Promise.all([queues.scan('undispatched:whatsapp', upTo, false, limit), queues.scan('undispatched:instagram', upTo, false, limit)]))
      .flat()
      .sort((a, b) => cmp(a.sort.key, b.sort.key) || cmp(a.itemId, b.itemId))
      .slice(0, limit);
    const found = await eachLimited(items, PARALLEL, async (item) => {
      const d = await this.readDelivery(item.itemId);
      if (d && awaitsProvider(d) && d.next_attempt_at === null) return publicDelivery(d);
      await queues.remove(item.kind, item.sort, item.itemId);
      return null;
    });
    return found.filter((d): d is Delivery => d !== null);
  }

  async listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number) {
    const { db } = this.ctx;
    const rows = await db.rows(CQL.unsentBefore, [conversationId, channel, beforeSeq]);
    const messageIds = [...new Set(rows.map((r) => String(r.message_id)))];
    const byId = new Map<string, StoredDelivery>();
    await eachLimited(messageIds, PARALLEL, async (id) => {
      for (const r of await db.rows(CQL.deliveriesOf, [id])) {
        const d = toStoredDelivery(r);
        byId.set(d.delivery_id, d);
      }
    });
    const out: (Delivery & { seq: number })[] = [];
    for (const r of rows) {
      const d = byId.get(String(r.delivery_id));
      if (d && awaitsProvider(d)) out.push({ ...publicDelivery(d), seq: num(r.seq)! });
      else await db.run(CQL.deleteUnsent, [conversationId, channel, r.seq, r.ord, r.delivery_id]);
    }
    return out;
  }

  // In-flight marks and parking are lightweight transactions, as is every write of a delivery row
  // (see CQL.setInFlight): one Paxos round more per provider call, in exchange for an order that
  // no clock can turn around (a provider id recorded after a mark always clears it).
  async markInFlight(deliveryId: string, at: string) {
    const d = await this.readDelivery(deliveryId);
    if (d) await this.ctx.db.run(CQL.setInFlight, [at, d.message_id, d.ord, deliveryId]);
  }

  async markManyInFlight(deliveryIds: string[], at: string) {
    await eachLimited(deliveryIds, PARALLEL, (id) => this.markInFlight(id, at));
  }

  async clearInFlight(deliveryId: string) {
    const d = await this.readDelivery(deliveryId);
    if (d) await this.ctx.db.run(CQL.setInFlight, [null, d.message_id, d.ord, deliveryId]);
  }

  async parkDelivery(deliveryId: string, nextAttemptAt: string) {
    const { db, queues } = this.ctx;
    const next = isoKey(nextAttemptAt);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const d = await this.readDelivery(deliveryId, attempt > 0);
      if (!d) return;
      // The queue entry first: a crash after it leaves an entry the scan skips or removes.
      if (awaitsProvider(d)) await queues.add(`parked:${d.channel}`, next, deliveryId);
      // IF attempts = <read>: two parks at once count two attempts, as `attempts + 1` does in SQL.
      if (!(await db.run(CQL.park, [nextAttemptAt, d.attempts + 1, d.message_id, d.ord, deliveryId, d.attempts])).wasApplied()) continue;
      if (d.next_attempt_at === null) await queues.remove(`undispatched:${d.channel}`, isoKey(d.at), deliveryId);
      else if (d.next_attempt_at !== nextAttemptAt) await queues.remove(`parked:${d.channel}`, isoKey(d.next_attempt_at), deliveryId);
      return;
    }
    throw unavailable(`delivery ${deliveryId}: parking is contended; retry`);
  }

  async listDueParked(channel: ExternalChannel, now: string, limit: number) {
    const { queues } = this.ctx;
    const items = await queues.scan(`parked:${channel}`, isoKey(now), true, limit);
    const found = await eachLimited(items, PARALLEL, async (item) => {
      const d = await this.readDelivery(item.itemId);
      if (d && awaitsProvider(d) && d.next_attempt_at === item.sort.key) return publicDelivery(d);
      // An entry newer than the delivery's own is a park in progress: leave it.
      const inProgress = d !== null && awaitsProvider(d) && (d.next_attempt_at === null || d.next_attempt_at < item.sort.key);
      if (!inProgress) await queues.remove(item.kind, item.sort, item.itemId);
      return null;
    });
    return found.filter((d): d is Delivery => d !== null);
  }

  async countUnsent(channel: ExternalChannel) {
    const [waiting, parked] = await Promise.all([this.ctx.queues.count(`undispatched:${channel}`), this.ctx.queues.count(`parked:${channel}`)]);
    return waiting + parked;
  }

  /** Removes a delivery from the queues of deliveries waiting for a provider. */
  private async unqueue(d: StoredDelivery) {
    if (d.channel === 'internal') return;
    const { db, queues } = this.ctx;
    await Promise.all([
      d.seq === null ? null : db.run(CQL.deleteUnsent, [d.conversation_id, d.channel, d.seq, d.ord, d.delivery_id]),
      queues.remove(`undispatched:${d.channel}`, isoKey(d.at), d.delivery_id),
      d.next_attempt_at === null ? null : queues.remove(`parked:${d.channel}`, isoKey(d.next_attempt_at), d.delivery_id),
    ]);
  }

  async recordProviderRef(deliveryId: string, providerMessageId: string) {
    const { db } = this.ctx;
    const d = await this.readDelivery(deliveryId);
    if (!d) return false;
    if (d.provider_message_id !== null && d.provider_message_id !== providerMessageId) return false;
    await db.run(CQL.insertProviderRef, [d.channel, providerMessageId, deliveryId]);
    const key = [d.message_id, d.ord, deliveryId];
    let recorded = (await db.run(CQL.setProviderRef, [providerMessageId, ...key])).wasApplied();
    // Not applied: some id is there already; it counts only when it is this one.
    if (!recorded) recorded = (await db.run(CQL.confirmProviderRef, [...key, providerMessageId])).wasApplied();
    if (recorded) {
      await this.unqueue(d);
      if (d.address !== null && d.channel !== 'internal') await this.noteReplyTarget(d.channel, d.address, d.conversation_id, d.at);
    }
    return recorded;
  }

  async recordProviderRefs(refs: ProviderRef[]) {
    // Each delivery its own partition: side by side. Two refs of one delivery would race, so
    // a repeated delivery waits for the ones before it.
    const byDelivery = new Map<string, number[]>();
    refs.forEach((r, i) => byDelivery.set(r.delivery_id, [...(byDelivery.get(r.delivery_id) ?? []), i]));
    const out = new Array<boolean>(refs.length);
    await eachLimited([...byDelivery.values()], PARALLEL, async (indexes) => {
      for (const i of indexes) out[i] = await this.recordProviderRef(refs[i]!.delivery_id, refs[i]!.provider_message_id);
    });
    return out;
  }

  /** Moves the address's reply target to this delivery's conversation unless a later delivery holds it. */
  private async noteReplyTarget(channel: string, address: string, conversationId: string, at: string) {
    const { db } = this.ctx;
    if ((await db.run(CQL.firstReplyTarget, [channel, address, conversationId, at])).wasApplied()) return;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = (await db.run(CQL.replyTarget, [channel, address], { serial: true })).rows[0];
      if (!current) throw unavailable(`${channel} address ${address}: reply target not visible yet; retry`);
      if (String(current.at) > at || (String(current.at) === at && String(current.conversation_id) === conversationId)) return;
      if ((await db.run(CQL.nextReplyTarget, [conversationId, at, channel, address, current.at])).wasApplied()) return;
    }
    throw unavailable(`${channel} address ${address}: reply target is contended; retry`);
  }

  async lastReplyTarget(channel: ExternalChannel, address: string) {
    const r = (await this.ctx.db.run(CQL.replyTarget, [channel, address])).rows[0];
    return r ? { conversation_id: String(r.conversation_id), at: String(r.at) } : null;
  }

  async findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string) {
    const ref = (await this.ctx.db.run(CQL.providerRef, [channel, providerMessageId])).rows[0];
    if (!ref) return null;
    const d = await this.readDelivery(String(ref.delivery_id));
    return d && d.channel === channel && d.provider_message_id === providerMessageId ? publicDelivery(d) : null;
  }

  async recordFallback(deliveryId: string, fallback: DeliveryFallback, at: string) {
    const d = await this.readDelivery(deliveryId);
    if (!d) return false;
    // A time-based id like a history entry's, so notes and status changes sort together.
    await this.ctx.db.run(CQL.insertNote, [d.message_id, this.ctx.ids.next(), d.delivery_id, d.recipient_id, d.channel, d.status, at, JSON.stringify(fallback)]);
    return true;
  }

  async applyStatuses(events: StatusEvent[]): Promise<ApplyResult[]> {
    // Deliveries side by side (each its own partition's conditional update), a delivery's events in order.
    const byDelivery = new Map<string, number[]>();
    events.forEach((e, i) => byDelivery.set(e.delivery_id, [...(byDelivery.get(e.delivery_id) ?? []), i]));
    const out = new Array<ApplyResult>(events.length);
    await eachLimited([...byDelivery.values()], PARALLEL, async (indexes) => {
      for (const i of indexes) out[i] = await this.applyStatus(events[i]!);
    });
    return out;
  }

  async applyStatus(e: StatusEvent): Promise<ApplyResult> {
    const { db, ids, feed } = this.ctx;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const d = await this.readDelivery(e.delivery_id, attempt > 0);
      if (!d) return { applied: false, delivery: null };
      if (!canTransition(d.status, e.status)) return { applied: false, delivery: publicDelivery(d) };
      const error = e.error ? JSON.stringify(e.error) : json(d.error);
      const hid = ids.next();
      // The status and its history entry in one partition: both or neither, and only from the status read.
      const applied = (
        await db.batch([
          { query: CQL.setStatus, params: [e.status, error, e.at, d.message_id, d.ord, d.delivery_id, d.status] },
          { query: CQL.insertHistory, params: [d.message_id, hid, d.delivery_id, d.recipient_id, d.channel, e.status, e.at, e.error ? error : null] },
        ])
      ).wasApplied();
      if (!applied) continue;
      const m = await readMessage(db, d.message_id);
      const h: StoredHistory = { hid, delivery_id: d.delivery_id, recipient_id: d.recipient_id, channel: d.channel, status: e.status, at: e.at, error: e.error ?? null };
      await Promise.all([m ? feed.write(m, h) : null, e.status === 'SENT' ? null : this.unqueue(d)]);
      return { applied: true, delivery: publicDelivery({ ...d, status: e.status, error: parse<DeliveryError>(error), updated_at: e.at }) };
    }
    throw unavailable(`delivery ${e.delivery_id}: status is contended; retry`);
  }
}

import { randomUUID } from 'node:crypto';
import { awaitsProvider, newDelivery } from '../../domain/delivery.ts';
import type { PlannedDelivery } from '../../domain/routing.ts';
import type { Channel, DeliveryError } from '../../domain/types.ts';
import { notFound, unavailable } from '../../errors.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { CAS_ATTEMPTS, isoKey } from './keys.ts';
import { readMessage } from './read-message.ts';
import { deliveryRow, historyRow, messageRow, toStoredDelivery, toStoredHistory, type StoredDelivery, type StoredHistory, type StoredMessage } from './rows.ts';
import type { BatchItem } from './session.ts';
import { CQL } from './statements.ts';
import { num, parse, str } from './values.ts';

/**
 * How a routing was decided: stored with the seq it took (`conversation_sequence.claim`, JSON), so
 * any router can finish it.
 */
interface Claim {
  at: string;
  deliveries: { delivery_id: string; hid: number; recipient_id: string; channel: Channel; address: string | null; error: DeliveryError | null }[];
}

/** A routed message as its partition holds it: its deliveries and their history entries. */
interface RoutedRows {
  deliveries: StoredDelivery[];
  history: StoredHistory[];
}

/**
 * Giving a message its seq and its deliveries, and the query rows that follow from that (the
 * message in seq order, the delivery lookups, the queues of deliveries waiting for a provider, the
 * history feed). The seq and the partition's rows are one lightweight transaction; the query rows
 * are written after it, idempotently, so a crash in between leaves the message in the unrouted
 * queue, where the next scan or routing of it finishes the job (`reindex`).
 */
export class Routing {
  constructor(private readonly ctx: CassandraContext) {}

  /**
   * Routes an unrouted message: takes its seq (or finds the one it took) and applies the routing.
   * Returns the rows when this call applied it; null when another router did (read them back).
   */
  async route(m: StoredMessage, plan: PlannedDelivery[], at: string): Promise<{ seq: number; deliveries: StoredDelivery[] } | null> {
    const { seq, claim } = await this.claimSeq(m, plan, at);
    await this.writeBySeq(m, seq);
    const rows = this.claimRows(m, seq, claim);
    if (!(await this.applyClaim(m, seq, claim.at, rows))) return null;
    await this.indexRouted({ ...m, seq }, rows);
    return { seq, deliveries: rows.deliveries };
  }

  /** Rebuilds the query rows of a routed message from its partition; returns its deliveries. */
  async reindex(m: StoredMessage): Promise<StoredDelivery[]> {
    const [d, h] = await Promise.all([this.ctx.db.rows(CQL.deliveriesOf, [m.message_id]), this.ctx.db.rows(CQL.historyOf, [m.message_id])]);
    const deliveries = d.map(toStoredDelivery);
    await this.indexRouted(m, { deliveries, history: h.map(toStoredHistory) });
    return deliveries;
  }

  /**
   * Takes the conversation's next seq for this message, or finds the one it already took. The
   * sequence row holds the claim (the routing) of the last seq given out; before handing out the
   * next one, a claim not yet applied to its message is applied, so no seq is ever skipped.
   */
  private async claimSeq(m: StoredMessage, plan: PlannedDelivery[], at: string): Promise<{ seq: number; claim: Claim }> {
    const { db } = this.ctx;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = (await db.run(CQL.sequence, [m.conversation_id], { serial: true })).rows[0];
      const claim = this.newClaim(plan, at);
      if (!r) {
        if ((await db.run(CQL.conversation, [m.conversation_id])).rows.length === 0) throw notFound(`conversation ${m.conversation_id}`);
        if ((await db.run(CQL.firstClaim, [m.conversation_id, 1, m.message_id, JSON.stringify(claim)])).wasApplied()) return { seq: 1, claim };
        continue;
      }
      const last = num(r.last_seq) ?? 0;
      const holder = str(r.claim_message_id);
      if (holder === m.message_id) return { seq: last, claim: parse<Claim>(r.claim)! };
      if (holder) await this.finishClaim(holder, last, parse<Claim>(r.claim)!);
      const next = [last + 1, m.message_id, JSON.stringify(claim), m.conversation_id, last];
      if ((await db.run(CQL.nextClaim, next)).wasApplied()) return { seq: last + 1, claim };
    }
    throw unavailable(`conversation ${m.conversation_id}: the next seq is contended; retry`);
  }

  private newClaim(plan: PlannedDelivery[], at: string): Claim {
    return {
      at,
      deliveries: plan.map((p) => ({
        delivery_id: randomUUID(),
        hid: this.ctx.ids.next(),
        recipient_id: p.recipient_id,
        channel: p.channel,
        address: p.address,
        error: p.failed ?? null,
      })),
    };
  }

  /** Applies a claim left by a router that stopped between taking the seq and routing the message. */
  private async finishClaim(messageId: string, seq: number, claim: Claim) {
    const m = await readMessage(this.ctx.db, messageId);
    if (!m || m.seq !== null) return;
    await this.writeBySeq(m, seq);
    const rows = this.claimRows(m, seq, claim);
    if (await this.applyClaim(m, seq, claim.at, rows)) await this.indexRouted({ ...m, seq }, rows);
  }

  /**
   * The message's row in seq order, written before the routing itself: a claimed seq always ends
   * up with its claimant, and so a later seq is never listed while an earlier one is missing.
   */
  private async writeBySeq(m: StoredMessage, seq: number) {
    const row = messageRow(m);
    await this.ctx.db.run(CQL.insertBySeq, [
      m.conversation_id, seq, m.message_id, row.sender_id, row.payload, row.channels, row.metadata, row.body_hash, row.trace_id, row.created_at,
    ]);
  }

  /** Sets the seq and writes the deliveries and their first history entries, once (IF seq = null). */
  private async applyClaim(m: StoredMessage, seq: number, at: string, rows: RoutedRows): Promise<boolean> {
    const queries: BatchItem[] = [{ query: CQL.setSeq, params: [seq, at, m.message_id] }];
    rows.deliveries.forEach((d, i) => {
      const r = deliveryRow(d);
      const h = historyRow(rows.history[i]!);
      queries.push({ query: CQL.insertDelivery, params: [m.message_id, r.ord, r.item, r.recipient_id, r.channel, r.address, r.status, r.error, r.at, r.updated_at] });
      queries.push({ query: CQL.insertHistory, params: [m.message_id, h.ord, h.item, h.recipient_id, h.channel, h.status, h.at, h.error] });
    });
    return (await this.ctx.db.batch(queries)).wasApplied();
  }

  /** The rows a claim becomes: each delivery as the domain creates it, and its first history entry. */
  private claimRows(m: StoredMessage, seq: number, claim: Claim): RoutedRows {
    const deliveries = claim.deliveries.map(
      (c, ord): StoredDelivery => ({
        ...newDelivery(
          { recipient_id: c.recipient_id, channel: c.channel, address: c.address, ...(c.error ? { failed: c.error } : {}) },
          { delivery_id: c.delivery_id, message_id: m.message_id, conversation_id: m.conversation_id },
          claim.at,
        ),
        ord,
        seq,
        at: claim.at,
        attempts: 0,
      }),
    );
    const history = deliveries.map(
      (d, i): StoredHistory => ({
        hid: claim.deliveries[i]!.hid,
        delivery_id: d.delivery_id,
        recipient_id: d.recipient_id,
        channel: d.channel,
        status: d.status,
        at: d.updated_at,
        error: d.error,
      }),
    );
    return { deliveries, history };
  }

  /**
   * Writes the query rows of a routed message (idempotent: a repeat writes the same rows) and
   * then removes it from the unrouted queues, so a crash in between leaves it to be found again.
   */
  private async indexRouted(m: StoredMessage, { deliveries, history }: RoutedRows) {
    const { db, queues, feed } = this.ctx;
    const writes: (() => Promise<unknown>)[] = [() => this.writeBySeq(m, m.seq!)];
    for (const d of deliveries) {
      writes.push(() => db.run(CQL.insertDeliveryKey, [d.delivery_id, m.message_id, d.ord]));
      if (!awaitsProvider(d)) continue;
      writes.push(() => db.run(CQL.insertUnsent, [m.conversation_id, d.channel, m.seq, d.ord, d.delivery_id, m.message_id]));
      writes.push(() =>
        d.next_attempt_at === null
          ? queues.add(`undispatched:${d.channel}`, isoKey(d.at), d.delivery_id)
          : queues.add(`parked:${d.channel}`, isoKey(d.next_attempt_at), d.delivery_id),
      );
    }
    for (const h of history) writes.push(() => feed.write(m, h));
    await eachLimited(writes, PARALLEL, (w) => w());
    await Promise.all([
      db.run(CQL.deleteUnrouted, [m.conversation_id, m.accepted, m.message_id]),
      queues.remove('unrouted', isoKey(m.created_at), m.message_id),
    ]);
  }
}

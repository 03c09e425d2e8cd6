import { acceptedHistoryEntry } from '../../domain/delivery.ts';
import type { PlannedDelivery } from '../../domain/routing.ts';
import type { HistoryEntry, Message } from '../../domain/types.ts';
import { notFound, unavailable } from '../../errors.ts';
import type { AcceptResult, MessageStore, RouteRequest, RouteResult } from '../../ports/message-store.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { isoKey } from './keys.ts';
import { readMessage } from './read-message.ts';
import { Routing } from './routing.ts';
import { messageRow, publicDelivery, toHistoryEntry, toMessage, toNoteEntry, toStoredHistory, type StoredMessage } from './rows.ts';
import { CQL } from './statements.ts';
import { cmp } from './values.ts';

/** The message of a stored one (without its acceptance order). */
const publicMessage = ({ accepted: _a, ...m }: StoredMessage): Message => m;

/**
 * Messages on Cassandra: one `messages` partition per message (the message in its static columns,
 * its deliveries and history as rows), the unrouted queues, and routing (see `Routing`).
 */
export class CassandraMessageStore implements MessageStore {
  private readonly routing: Routing;

  constructor(private readonly ctx: CassandraContext) {
    this.routing = new Routing(ctx);
  }

  async acceptMessage(m: Omit<Message, 'seq'>): Promise<AcceptResult> {
    const row = messageRow(m);
    const accepted = this.ctx.ids.next();
    const result = await this.ctx.db.run(CQL.insertMessage, [
      row.message_id, row.conversation_id, row.sender_id, row.payload, row.channels, row.metadata, row.body_hash, row.trace_id, row.created_at, accepted,
    ]);
    if (result.wasApplied()) {
      const stored: StoredMessage = { ...toMessage(row), accepted };
      await this.indexUnrouted(stored);
      return { message: toMessage(row), created: true };
    }
    const stored = await readMessage(this.ctx.db, m.message_id, true);
    if (!stored) throw unavailable(`message ${m.message_id}: insert not applied and not found; retry`);
    // A repeat after a crash between the insert and its queue entries puts them in place.
    if (stored.seq === null) await this.indexUnrouted(stored);
    return { message: publicMessage(stored), created: false };
  }

  private async indexUnrouted(m: StoredMessage) {
    await Promise.all([
      this.ctx.db.run(CQL.insertUnrouted, [m.conversation_id, m.accepted, m.message_id]),
      this.ctx.queues.add('unrouted', isoKey(m.created_at), m.message_id),
    ]);
  }

  async getMessage(id: string) {
    const m = await readMessage(this.ctx.db, id);
    return m ? publicMessage(m) : null;
  }

  async listMessages(conversationId: string, afterSeq: number, limit: number) {
    return (await this.ctx.db.rows(CQL.bySeq, [conversationId, afterSeq, limit])).map(toMessage);
  }

  async listUnrouted(before: string, limit: number) {
    const { queues } = this.ctx;
    const items = await queues.scan('unrouted', isoKey(before), false, limit);
    const found = await eachLimited(items, PARALLEL, (item) => this.stillUnrouted(item.itemId, () => queues.remove(item.kind, item.sort, item.itemId)));
    return found.filter((m): m is Message => m !== null);
  }

  /**
   * The message an unrouted-queue entry names, if it is still unrouted. An entry whose message is
   * gone is dropped (`dropEntry`); one whose routing stopped before its query rows is finished.
   */
  private async stillUnrouted(messageId: string, dropEntry: () => Promise<unknown>): Promise<Message | null> {
    const m = await readMessage(this.ctx.db, messageId);
    if (!m) {
      await dropEntry();
      return null;
    }
    if (m.seq !== null) {
      // Routed, but its routing stopped before its query rows: finish that now.
      await this.routing.reindex(m);
      return null;
    }
    return publicMessage(m);
  }

  async listUnroutedBefore(messageId: string) {
    const { db } = this.ctx;
    const m = await readMessage(db, messageId);
    if (!m) return [];
    const rows = await db.rows(CQL.unroutedBefore, [m.conversation_id, m.accepted]);
    const found = await eachLimited(rows, PARALLEL, (r) =>
      this.stillUnrouted(String(r.message_id), () => db.run(CQL.deleteUnrouted, [m.conversation_id, r.accepted, r.message_id])),
    );
    return found.filter((x): x is Message => x !== null);
  }

  async listUnroutedIn(conversationId: string) {
    const { db } = this.ctx;
    const rows = await db.rows(CQL.unroutedIn, [conversationId]);
    const found = await eachLimited(rows, PARALLEL, (r) =>
      this.stillUnrouted(String(r.message_id), () => db.run(CQL.deleteUnrouted, [conversationId, r.accepted, r.message_id])),
    );
    return found.filter((x): x is Message => x !== null);
  }

  async routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult> {
    const m = await readMessage(this.ctx.db, messageId);
    if (!m) throw notFound(`message ${messageId}`);
    if (m.seq === null) {
      const routed = await this.routing.route(m, plan, at);
      if (routed) return { seq: routed.seq, deliveries: routed.deliveries.map(publicDelivery), routedNow: true };
    }
    // Routed before (or just now by another router): the stored routing, its query rows made sure of.
    const routed = await readMessage(this.ctx.db, messageId, true);
    if (!routed || routed.seq === null) throw unavailable(`message ${messageId}: routing not visible yet; retry`);
    const deliveries = await this.routing.reindex(routed);
    return { seq: routed.seq, deliveries: deliveries.map(publicDelivery), routedNow: false };
  }

  async routeMessages(requests: RouteRequest[], at: string): Promise<RouteResult[]> {
    // No transaction spans partitions here: each conversation's messages in order (its seqs
    // follow the request order), conversations side by side, bounded like every fan-out.
    const byConversation = new Map<string, number[]>();
    const messages = await eachLimited(requests, PARALLEL, (r) => readMessage(this.ctx.db, r.messageId));
    requests.forEach((r, i) => {
      const m = messages[i];
      if (!m) throw notFound(`message ${r.messageId}`);
      const list = byConversation.get(m.conversation_id) ?? [];
      list.push(i);
      byConversation.set(m.conversation_id, list);
    });
    const out = new Array<RouteResult>(requests.length);
    await eachLimited([...byConversation.values()], PARALLEL, async (indexes) => {
      for (const i of indexes) out[i] = await this.routeMessage(requests[i]!.messageId, requests[i]!.plan, at);
    });
    return out;
  }

  async history(messageId: string): Promise<HistoryEntry[]> {
    const m = await readMessage(this.ctx.db, messageId);
    if (!m) return [];
    const [changes, notes] = await Promise.all([this.ctx.db.rows(CQL.historyOf, [messageId]), this.ctx.db.rows(CQL.notesOf, [messageId])]);
    const rows = [...changes.map(toStoredHistory).map((h) => ({ ...toHistoryEntry(h), hid: h.hid })), ...notes.map(toNoteEntry)];
    rows.sort((a, b) => cmp(a.at, b.at) || a.hid - b.hid);
    return [acceptedHistoryEntry(m), ...rows.map(({ hid: _hid, ...entry }) => entry)];
  }
}

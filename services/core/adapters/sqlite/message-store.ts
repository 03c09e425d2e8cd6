import { timeOrderedId } from './time-ordered-id.ts';
import { acceptedHistoryEntry, firstHistoryEntry, newDelivery } from '../../domain/delivery.ts';
import type { PlannedDelivery } from '../../domain/routing.ts';
import type { HistoryEntry, Message } from '../../domain/types.ts';
import { notFound } from '../../errors.ts';
import type { AcceptResult, MessageStore, RouteRequest, RouteResult } from '../../ports/message-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { historyAppender } from './history-log.ts';
import { groupCommitOf, type GroupCommit } from './group-commit.ts';
import { jsonOrNull, toDelivery, toHistoryEntry, toNoteEntry, toMessage, type Row } from './rows.ts';

/**
 * Messages in the embedded SQLite store. Routing gives the message its seq from the
 * conversation's counter and creates its deliveries and their first history entries in one
 * transaction, so a crash leaves either all of it or none.
 */
export class SqliteMessageStore implements MessageStore {
  private readonly stmt;
  private readonly appendHistory;
  private readonly group: GroupCommit;

  constructor(private readonly db: SqliteDatabase) {
    this.appendHistory = historyAppender(db);
    this.group = groupCommitOf(db);
    this.stmt = {
      insertMessage: db.prepare(
        `INSERT OR IGNORE INTO messages (message_id, conversation_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at)
         VALUES (@message_id, @conversation_id, @sender_id, @payload, @channels, @metadata, @body_hash, @trace_id, @created_at)
         RETURNING *`,
      ),
      message: db.prepare('SELECT * FROM messages WHERE message_id = ?'),
      routing: db.prepare('SELECT seq, conversation_id FROM messages WHERE message_id = ?'),
      listMessages: db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      unrouted: db.prepare('SELECT * FROM messages WHERE seq IS NULL AND created_at < ? ORDER BY created_at LIMIT ?'),
      // rowid is acceptance order: the store assigns it when the API commits the message.
      unroutedBefore: db.prepare(
        `SELECT o.* FROM messages o JOIN messages m ON m.message_id = ?
         WHERE o.conversation_id = m.conversation_id AND o.seq IS NULL AND o.rowid < m.rowid ORDER BY o.rowid`,
      ),
      unroutedIn: db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND seq IS NULL ORDER BY rowid'),
      // The message takes its conversation's next seq in one statement (no read of the message
      // first); only a message already routed, or missing, is read after it.
      takeSeq: db.prepare(
        `UPDATE messages SET seq = (SELECT c.last_seq + 1 FROM conversations c WHERE c.conversation_id = messages.conversation_id), routed_at = ?
         WHERE message_id = ? AND seq IS NULL RETURNING seq, conversation_id`,
      ),
      setLastSeq: db.prepare('UPDATE conversations SET last_seq = ? WHERE conversation_id = ?'),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (delivery_id, message_id, conversation_id, recipient_id, channel, address, status, error, created_at, updated_at)
         VALUES (@delivery_id, @message_id, @conversation_id, @recipient_id, @channel, @address, @status, @error, @updated_at, @updated_at)`,
      ),
      deliveriesOf: db.prepare('SELECT * FROM deliveries WHERE message_id = ? ORDER BY rowid'),
      history: db.prepare('SELECT * FROM history WHERE message_id = ? ORDER BY at, id'),
      notes: db.prepare('SELECT * FROM delivery_notes WHERE message_id = ? ORDER BY at, id'),
    };
  }

  async acceptMessage(m: Omit<Message, 'seq'>): Promise<AcceptResult> {
    const row = { ...m, payload: JSON.stringify(m.payload), channels: JSON.stringify(m.channels), metadata: jsonOrNull(m.metadata) };
    // Concurrent sends share one transaction (group commit); the caller's 202 waits for its commit.
    return this.group.run((): AcceptResult => {
      const inserted = this.stmt.insertMessage.get(row) as Row | undefined;
      if (inserted) return { message: toMessage(inserted), created: true };
      return { message: toMessage(this.stmt.message.get(m.message_id) as Row), created: false };
    });
  }

  async getMessage(id: string) {
    const r = this.stmt.message.get(id) as Row | undefined;
    return r ? toMessage(r) : null;
  }

  async listMessages(conversationId: string, afterSeq: number, limit: number) {
    return (this.stmt.listMessages.all(conversationId, afterSeq, limit) as Row[]).map(toMessage);
  }

  async listUnrouted(before: string, limit: number) {
    return (this.stmt.unrouted.all(before, limit) as Row[]).map(toMessage);
  }

  async listUnroutedBefore(messageId: string) {
    return (this.stmt.unroutedBefore.all(messageId) as Row[]).map(toMessage);
  }

  async listUnroutedIn(conversationId: string) {
    return (this.stmt.unroutedIn.all(conversationId) as Row[]).map(toMessage);
  }

  async routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult> {
    return writeTransaction(this.db, () => this.route(messageId, plan, at));
  }

  async routeMessages(requests: RouteRequest[], at: string): Promise<RouteResult[]> {
    if (requests.length === 0) return [];
    // One write lock for the batch: the lock, not the statements, is what five processes queue for.
    // The batches of the other partitions fetched with it (one each, at low rates) join the same
    // transaction, each in its own savepoint (a failing batch is undone alone): a commit costs
    // about as much for one message as for ten.
    return this.group.run(() => requests.map((r) => this.route(r.messageId, r.plan, at)));
  }

  /** Routes one message inside the caller's transaction. */
  private route(messageId: string, plan: PlannedDelivery[], at: string): RouteResult {
    const taken = this.stmt.takeSeq.get(at, messageId) as { seq: number | null; conversation_id: string } | undefined;
    if (!taken) {
      const m = this.stmt.routing.get(messageId) as { seq: number | null; conversation_id: string } | undefined;
      if (!m) throw notFound(`message ${messageId}`);
      return { seq: m.seq!, deliveries: (this.stmt.deliveriesOf.all(messageId) as Row[]).map(toDelivery), routedNow: false };
    }
    // No conversation row: the caller's savepoint undoes the seq-less update with this throw.
    if (taken.seq === null) throw notFound(`conversation ${taken.conversation_id}`);
    this.stmt.setLastSeq.run(taken.seq, taken.conversation_id);
    // The rows just written are exactly these: no read-back.
    const deliveries = plan.map((p) => newDelivery(p, { delivery_id: timeOrderedId(), message_id: messageId, conversation_id: taken.conversation_id }, at));
    for (const d of deliveries) {
      this.stmt.insertDelivery.run({ ...d, error: jsonOrNull(d.error) });
      this.appendHistory(messageId, firstHistoryEntry(d));
    }
    return { seq: taken.seq, deliveries, routedNow: true };
  }

  async history(messageId: string): Promise<HistoryEntry[]> {
    const m = this.stmt.message.get(messageId) as Row | undefined;
    if (!m) return [];
    const changes = (this.stmt.history.all(messageId) as Row[]).map(toHistoryEntry);
    const notes = (this.stmt.notes.all(messageId) as Row[]).map(toNoteEntry);
    // A stable sort by time: at the same instant a status change comes before a note.
    const entries = [...changes, ...notes].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return [acceptedHistoryEntry({ created_at: m.created_at as string }), ...entries];
  }
}

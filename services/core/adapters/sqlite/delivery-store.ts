import { canTransition } from '../../domain/status.ts';
import type { DeliveryFallback, ExternalChannel, StatusEvent } from '../../domain/types.ts';
import type { ApplyResult, DeliveryStore, ProviderRef } from '../../ports/delivery-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { historyAppender } from './history-log.ts';
import { toDelivery, type Row } from './rows.ts';

/**
 * Deliveries in the embedded SQLite store. "Waits for its provider" (SENT, no provider id, not
 * internal: see `awaitsProvider` in core/domain) is written into the queries and the partial
 * indexes of the schema, so that the queues are index scans.
 */
export class SqliteDeliveryStore implements DeliveryStore {
  private readonly stmt;
  private readonly appendHistory;

  constructor(private readonly db: SqliteDatabase) {
    this.appendHistory = historyAppender(db);
    this.stmt = {
      delivery: db.prepare('SELECT * FROM deliveries WHERE delivery_id = ?'),
      deliveriesOf: db.prepare('SELECT * FROM deliveries WHERE message_id = ? ORDER BY rowid'),
      undispatched: db.prepare(
        `SELECT * FROM deliveries WHERE status = 'SENT' AND provider_message_id IS NULL AND channel <> 'internal'
         AND next_attempt_at IS NULL AND created_at < ? ORDER BY created_at LIMIT ?`,
      ),
      unsentBefore: db.prepare(
        `SELECT d.*, m.seq AS seq FROM deliveries d JOIN messages m ON m.message_id = d.message_id
         WHERE d.conversation_id = ? AND d.channel = ? AND d.status = 'SENT' AND d.provider_message_id IS NULL
         AND m.seq < ? ORDER BY m.seq, d.rowid`,
      ),
      park: db.prepare('UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1 WHERE delivery_id = ?'),
      dueParked: db.prepare(
        `SELECT * FROM deliveries WHERE channel = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
         AND status = 'SENT' AND provider_message_id IS NULL ORDER BY next_attempt_at LIMIT ?`,
      ),
      setProviderRef: db.prepare(
        'UPDATE deliveries SET provider_message_id = ?, in_flight_since = NULL, next_attempt_at = NULL WHERE delivery_id = ? AND (provider_message_id IS NULL OR provider_message_id = ?)',
      ),
      // The latest delivery to an address that a provider accepted names the conversation its reply goes to.
      noteReplyTarget: db.prepare(
        `INSERT INTO reply_targets (channel, address, conversation_id, at)
         SELECT channel, address, conversation_id, created_at FROM deliveries WHERE delivery_id = ? AND address IS NOT NULL AND channel <> 'internal'
         ON CONFLICT (channel, address) DO UPDATE SET conversation_id = excluded.conversation_id, at = excluded.at
         WHERE excluded.at >= reply_targets.at`,
      ),
      replyTarget: db.prepare('SELECT conversation_id, at FROM reply_targets WHERE channel = ? AND address = ?'),
      countUnsent: db.prepare(
        `SELECT COUNT(*) AS n FROM deliveries WHERE channel = ? AND status = 'SENT' AND provider_message_id IS NULL`,
      ),
      setInFlight: db.prepare('UPDATE deliveries SET in_flight_since = ? WHERE delivery_id = ?'),
      byProviderRef: db.prepare('SELECT * FROM deliveries WHERE channel = ? AND provider_message_id = ?'),
      setStatus: db.prepare('UPDATE deliveries SET status = ?, error = ?, updated_at = ? WHERE delivery_id = ?'),
      // The delivery's status as it is when the note is written, in one statement.
      insertNote: db.prepare(
        `INSERT INTO delivery_notes (message_id, delivery_id, recipient_id, channel, status, at, note)
         SELECT message_id, delivery_id, recipient_id, channel, status, ?, ? FROM deliveries WHERE delivery_id = ?`,
      ),
    };
  }

  async getDelivery(id: string) {
    const r = this.stmt.delivery.get(id) as Row | undefined;
    return r ? toDelivery(r) : null;
  }

  async listDeliveries(messageId: string) {
    return (this.stmt.deliveriesOf.all(messageId) as Row[]).map(toDelivery);
  }

  async listDeliveriesOfMessages(messageIds: string[]) {
    if (messageIds.length === 0) return [];
    const ids = [...new Set(messageIds)];
    const q = `SELECT * FROM deliveries WHERE message_id IN (${ids.map(() => '?').join(',')}) ORDER BY rowid`;
    return (this.db.prepare(q).all(...ids) as Row[]).map(toDelivery);
  }

  async deliveriesFor(recipientId: string, messageIds: string[]) {
    if (messageIds.length === 0) return [];
    const q = `SELECT * FROM deliveries WHERE recipient_id = ? AND message_id IN (${messageIds.map(() => '?').join(',')}) ORDER BY rowid`;
    return (this.db.prepare(q).all(recipientId, ...messageIds) as Row[]).map(toDelivery);
  }

  async listUndispatched(before: string, limit: number) {
    return (this.stmt.undispatched.all(before, limit) as Row[]).map(toDelivery);
  }

  async listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number) {
    return (this.stmt.unsentBefore.all(conversationId, channel, beforeSeq) as Row[]).map((r) => ({
      ...toDelivery(r),
      seq: r.seq as number,
    }));
  }

  async markInFlight(deliveryId: string, at: string) {
    this.stmt.setInFlight.run(at, deliveryId);
  }

  async markManyInFlight(deliveryIds: string[], at: string) {
    if (deliveryIds.length === 0) return;
    // One write lock for the lot: what a mark costs is the lock and the commit, not the update.
    writeTransaction(this.db, () => {
      for (const id of deliveryIds) this.stmt.setInFlight.run(at, id);
    });
  }

  async clearInFlight(deliveryId: string) {
    this.stmt.setInFlight.run(null, deliveryId);
  }

  async parkDelivery(deliveryId: string, nextAttemptAt: string) {
    this.stmt.park.run(nextAttemptAt, deliveryId);
  }

  async listDueParked(channel: ExternalChannel, now: string, limit: number) {
    return (this.stmt.dueParked.all(channel, now, limit) as Row[]).map(toDelivery);
  }

  async countUnsent(channel: ExternalChannel) {
    return (this.stmt.countUnsent.get(channel) as { n: number }).n;
  }

  async recordProviderRef(deliveryId: string, providerMessageId: string) {
    return writeTransaction(this.db, () => this.recordOne(deliveryId, providerMessageId));
  }

  async recordProviderRefs(refs: ProviderRef[]) {
    if (refs.length === 0) return [];
    return writeTransaction(this.db, () => refs.map((r) => this.recordOne(r.delivery_id, r.provider_message_id)));
  }

  /** Records one provider id inside the caller's write transaction. */
  private recordOne(deliveryId: string, providerMessageId: string): boolean {
    if (this.stmt.setProviderRef.run(providerMessageId, deliveryId, providerMessageId).changes === 0) return false;
    this.stmt.noteReplyTarget.run(deliveryId);
    return true;
  }

  async lastReplyTarget(channel: ExternalChannel, address: string) {
    return (this.stmt.replyTarget.get(channel, address) as { conversation_id: string; at: string } | undefined) ?? null;
  }

  async findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string) {
    const r = this.stmt.byProviderRef.get(channel, providerMessageId) as Row | undefined;
    return r ? toDelivery(r) : null;
  }

  async recordFallback(deliveryId: string, fallback: DeliveryFallback, at: string) {
    return this.stmt.insertNote.run(at, JSON.stringify(fallback), deliveryId).changes > 0;
  }

  async applyStatus(e: StatusEvent): Promise<ApplyResult> {
    return writeTransaction(this.db, () => this.applyOne(e));
  }

  async applyStatuses(events: StatusEvent[]): Promise<ApplyResult[]> {
    if (events.length === 0) return [];
    // One write lock for the whole webhook: the store's cost is the lock, not the statements.
    return writeTransaction(this.db, () => events.map((e) => this.applyOne(e)));
  }

  /** Applies one event inside the caller's write transaction. */
  private applyOne(e: StatusEvent): ApplyResult {
    const r = this.stmt.delivery.get(e.delivery_id) as Row | undefined;
    if (!r) return { applied: false, delivery: null };
    const current = toDelivery(r);
    if (!canTransition(current.status, e.status)) return { applied: false, delivery: current };
    // A status without an error (a late DELIVERED) keeps the error already recorded.
    const error = e.error ? JSON.stringify(e.error) : ((r.error as string | null | undefined) ?? null);
    this.stmt.setStatus.run(e.status, error, e.at, e.delivery_id);
    this.appendHistory(current.message_id, {
      status: e.status,
      at: e.at,
      recipient_id: current.recipient_id,
      channel: current.channel,
      delivery_id: current.delivery_id,
      ...(e.error ? { error: e.error } : {}),
    });
    // The row as the update left it, without reading it again.
    return { applied: true, delivery: toDelivery({ ...r, status: e.status, error, updated_at: e.at }) };
  }
}

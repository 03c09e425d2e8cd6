import type { ClaimFairness,
  HistoryRecord,
  NewWebhook,
  NewWebhookEvent,
  Webhook,
  WebhookAttempt,
  WebhookAttemptRecord,
  WebhookEvent,
  WebhookEventStatus,
  WebhookStore,
} from '../../ports/webhook-store.ts';
import { tooManyWebhooks } from '../../cap-reached.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { toHistoryRecord, toWebhook, toWebhookAttemptRecord, toWebhookEvent, type Row } from './rows.ts';

/**
 * Client webhooks in the embedded SQLite store. The status history's autoincrement ids are the
 * log the dispatchers read: SQLite has one writer at a time, so ids become visible in order.
 */
export class SqliteWebhookStore implements WebhookStore {
  private readonly stmt;

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO webhooks (webhook_id, owner_id, url, events, secret, created_at, start_after)
         VALUES (@webhook_id, @owner_id, @url, @events, @secret, @created_at, (SELECT COALESCE(MAX(id), 0) FROM history))`,
      ),
      byId: db.prepare('SELECT * FROM webhooks WHERE webhook_id = ?'),
      byOwner: db.prepare('SELECT * FROM webhooks WHERE owner_id = ? ORDER BY created_at, rowid'),
      delete: db.prepare('DELETE FROM webhooks WHERE owner_id = ? AND webhook_id = ?'),
      deleteEvents: db.prepare('DELETE FROM webhook_events WHERE webhook_id = ?'),
      deleteAttempts: db.prepare('DELETE FROM webhook_attempts WHERE webhook_id = ?'),
      cursor: db.prepare("SELECT position FROM webhook_cursor WHERE name = 'history'"),
      moveCursor: db.prepare(
        `INSERT INTO webhook_cursor (name, position) VALUES ('history', ?)
         ON CONFLICT(name) DO UPDATE SET position = MAX(position, excluded.position)`,
      ),
      windowEnd: db.prepare('SELECT MAX(id) AS last FROM (SELECT id FROM history WHERE id > ? ORDER BY id LIMIT ?)'),
      window: db.prepare(
        `SELECT h.*, m.sender_id AS sender_id, m.conversation_id AS conversation_id
         FROM history h JOIN messages m ON m.message_id = h.message_id
         WHERE h.id > ? AND h.id <= ? AND (m.sender_id IN (SELECT owner_id FROM webhooks) OR h.recipient_id IN (SELECT owner_id FROM webhooks)) ORDER BY h.id`,
      ),
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO webhook_events (event_id, webhook_id, type, message_id, seq, body, created_at, next_attempt_at, deadline)
         VALUES (@event_id, @webhook_id, @type, @message_id, @seq, @body, @created_at, @next_attempt_at, @deadline)`,
      ),
      due: db.prepare(
        `SELECT * FROM (
           SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.webhook_id ORDER BY e.next_attempt_at, e.seq) AS nth FROM webhook_events e
           WHERE e.status = 'pending' AND e.next_attempt_at <= @now AND (e.lease_until IS NULL OR e.lease_until < @now)
           AND e.webhook_id NOT IN (SELECT value FROM json_each(@skip))
           AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id AND p.message_id = e.message_id
                           AND p.status = 'pending' AND p.seq < e.seq))
         WHERE nth <= @perWebhook
         ORDER BY next_attempt_at, seq LIMIT @limit`,
      ),
      lease: db.prepare(
        `UPDATE webhook_events SET lease_until = @until
         WHERE event_id = @id AND status = 'pending' AND (lease_until IS NULL OR lease_until < @now)`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO webhook_attempts (event_id, webhook_id, attempt, at, status_code, error, duration_ms, result)
         VALUES (@event_id, @webhook_id, (SELECT COUNT(*) + 1 FROM webhook_attempts WHERE event_id = @event_id),
                 @at, @status_code, @error, @duration_ms, @result)`,
      ),
      settle: db.prepare(
        `UPDATE webhook_events SET attempts = attempts + 1, lease_until = NULL,
           status = CASE WHEN status = 'pending' THEN @status ELSE status END,
           next_attempt_at = CASE WHEN status = 'pending' THEN @next_attempt_at ELSE next_attempt_at END
         WHERE event_id = @event_id`,
      ),
      attempts: db.prepare(
        `SELECT a.*, e.type AS type, e.message_id AS message_id FROM webhook_attempts a
         JOIN webhook_events e ON e.event_id = a.event_id WHERE a.webhook_id = ? ORDER BY a.id DESC LIMIT ?`,
      ),
      pending: db.prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE status = 'pending'"),
      pruneAttempts: db.prepare(
        `DELETE FROM webhook_attempts WHERE event_id IN
         (SELECT event_id FROM webhook_events WHERE status <> 'pending' AND created_at < ?)`,
      ),
      pruneEvents: db.prepare("DELETE FROM webhook_events WHERE status <> 'pending' AND created_at < ?"),
    };
  }

  async createWebhook(webhook: NewWebhook, cap?: { max: number }): Promise<Webhook> {
    // Count and insert in one write transaction: parallel creations at the cap see each other.
    writeTransaction(this.db, () => {
      if (cap) {
        const n = (this.stmt.byOwner.all(webhook.owner_id) as Row[]).length;
        if (n >= cap.max) throw tooManyWebhooks(webhook.owner_id, n, cap.max);
      }
      this.stmt.insert.run({ ...webhook, events: JSON.stringify(webhook.events) });
    });
    return toWebhook(this.stmt.byId.get(webhook.webhook_id) as Row);
  }

  async listWebhooks(ownerId: string): Promise<Webhook[]> {
    return (this.stmt.byOwner.all(ownerId) as Row[]).map(toWebhook);
  }

  async getWebhook(webhookId: string): Promise<Webhook | null> {
    const r = this.stmt.byId.get(webhookId) as Row | undefined;
    return r ? toWebhook(r) : null;
  }

  async deleteWebhook(ownerId: string, webhookId: string): Promise<boolean> {
    return writeTransaction(this.db, () => {
      if (this.stmt.delete.run(ownerId, webhookId).changes === 0) return false;
      this.stmt.deleteEvents.run(webhookId);
      this.stmt.deleteAttempts.run(webhookId);
      return true;
    });
  }

  async webhookCursor(): Promise<number> {
    return (this.stmt.cursor.get() as { position: number } | undefined)?.position ?? 0;
  }

  async historyForWebhooks(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }> {
    // A read-only transaction: the window's end and its rows come from one snapshot.
    return this.db.transaction(() => {
      const last = (this.stmt.windowEnd.get(afterId, limit) as { last: number | null }).last;
      if (last === null) return { entries: [], lastId: afterId };
      return { entries: (this.stmt.window.all(afterId, last) as Row[]).map(toHistoryRecord), lastId: last };
    })();
  }

  async enqueueWebhookEvents(events: NewWebhookEvent[], cursor: number): Promise<void> {
    writeTransaction(this.db, () => {
      for (const e of events) this.stmt.insertEvent.run(e);
      this.stmt.moveCursor.run(cursor);
    });
  }

  async claimWebhookEvents(now: number, leaseUntil: number, limit: number, fairness: ClaimFairness = {}): Promise<WebhookEvent[]> {
    const skip = JSON.stringify(fairness.skipWebhooks ?? []);
    const perWebhook = fairness.perWebhook ?? limit;
    return writeTransaction(this.db, () => {
      const claimed: WebhookEvent[] = [];
      for (const r of this.stmt.due.all({ now, limit, skip, perWebhook }) as Row[]) {
        if (this.stmt.lease.run({ id: r.event_id, until: leaseUntil, now }).changes === 0) continue;
        claimed.push({ ...toWebhookEvent(r), lease_until: leaseUntil });
      }
      return claimed;
    });
  }

  async recordWebhookAttempt(attempt: WebhookAttempt, next: { status: WebhookEventStatus; next_attempt_at: number }): Promise<void> {
    writeTransaction(this.db, () => {
      this.stmt.insertAttempt.run(attempt);
      this.stmt.settle.run({ event_id: attempt.event_id, ...next });
    });
  }

  async listWebhookAttempts(webhookId: string, limit: number): Promise<WebhookAttemptRecord[]> {
    return (this.stmt.attempts.all(webhookId, limit) as Row[]).map(toWebhookAttemptRecord);
  }

  async countPendingWebhookEvents(): Promise<number> {
    return (this.stmt.pending.get() as { n: number }).n;
  }

  async pruneWebhookEvents(before: string): Promise<number> {
    return writeTransaction(this.db, () => {
      this.stmt.pruneAttempts.run(before);
      return this.stmt.pruneEvents.run(before).changes;
    });
  }
}


import type { HistoryEntry } from '../../domain/types.ts';
import type { SqliteDatabase } from './database.ts';

/**
 * Appends a delivery's status change to the `history` table, whose increasing ids the webhook
 * dispatchers read as a log. Both routing (first entries) and status updates write it.
 */
export function historyAppender(db: SqliteDatabase): (messageId: string, entry: HistoryEntry) => void {
  const insert = db.prepare(
    'INSERT INTO history (message_id, delivery_id, recipient_id, channel, status, at, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return (messageId, e) => {
    insert.run(messageId, e.delivery_id ?? null, e.recipient_id ?? null, e.channel ?? null, e.status, e.at, e.error ? JSON.stringify(e.error) : null);
  };
}

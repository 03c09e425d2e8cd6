import Database from 'better-sqlite3';
import type { DeliveredSource, StoredDelivery } from '../loadtest/generator.ts';

/**
 * Follows the local platform's SQLite store: every new DELIVERED or READ entry of its status
 * history (an append-only table with increasing ids), polled on a read-only connection. This is
 * what makes the benchmark count a message only once its DELIVERED is stored, not when the
 * provider simulator received the call. Only for the local platform (one SQLite file).
 */
export function sqliteDeliveredSource(path: string, intervalMs = 200): DeliveredSource {
  return async (onDelivered) => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    const after = db.prepare<[number, number], { id: number; message_id: string; at: string }>(
      "SELECT id, message_id, at FROM history WHERE id > ? AND status IN ('DELIVERED', 'READ') ORDER BY id LIMIT ?",
    );
    let last = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM history').get() as { id: number }).id;
    let stopped = false;
    const poll = () => {
      for (;;) {
        const rows = after.all(last, 5000);
        if (rows.length === 0) return;
        last = rows[rows.length - 1]!.id;
        onDelivered(rows.map((r): StoredDelivery => ({ message_id: r.message_id, at: Date.parse(r.at) })));
        if (rows.length < 5000) return;
      }
    };
    const timer = setInterval(() => {
      try {
        poll();
      } catch {
        // A busy or checkpointing file: the next poll reads what this one missed.
      }
    }, intervalMs);
    return {
      async stop() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        try {
          poll();
        } catch {
          // Best effort: the run is over.
        }
        db.close();
      },
    };
  };
}

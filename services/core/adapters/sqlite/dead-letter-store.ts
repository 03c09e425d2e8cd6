import { notFound } from '../../errors.ts';
import type { DeadLetter, DeadLetterStore } from '../../ports/dead-letter-store.ts';
import type { SqliteDatabase } from './database.ts';
import { toDeadLetter, type Row } from './rows.ts';

/** Dead letters in the embedded SQLite store, one per source record (topic, partition, offset). */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly stmt;

  constructor(db: SqliteDatabase) {
    this.stmt = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO dead_letters (id, reason, topic, partition, offset, key, value, headers, first_seen, status, updated_at)
         VALUES (@id, @reason, @topic, @partition, @offset, @key, @value, @headers, @first_seen, @status, @updated_at)`,
      ),
      bySource: db.prepare('SELECT * FROM dead_letters WHERE topic = ? AND partition = ? AND offset = ?'),
      byId: db.prepare('SELECT * FROM dead_letters WHERE id = ?'),
      ofStatus: db.prepare('SELECT * FROM dead_letters WHERE status = ? ORDER BY first_seen DESC, rowid DESC LIMIT ?'),
      all: db.prepare('SELECT * FROM dead_letters ORDER BY first_seen DESC, rowid DESC LIMIT ?'),
      setStatus: db.prepare('UPDATE dead_letters SET status = ?, updated_at = ? WHERE id = ?'),
    };
  }

  async addDeadLetter(letter: DeadLetter) {
    this.stmt.insert.run({ ...letter, headers: JSON.stringify(letter.headers) });
    return toDeadLetter(this.stmt.bySource.get(letter.topic, letter.partition, letter.offset) as Row);
  }

  async listDeadLetters(status?: DeadLetter['status'], limit = 500) {
    const rows = status ? this.stmt.ofStatus.all(status, limit) : this.stmt.all.all(limit);
    return (rows as Row[]).map(toDeadLetter);
  }

  async getDeadLetter(id: string) {
    const r = this.stmt.byId.get(id) as Row | undefined;
    return r ? toDeadLetter(r) : null;
  }

  async setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string) {
    this.stmt.setStatus.run(status, at, id);
    const r = this.stmt.byId.get(id) as Row | undefined;
    if (!r) throw notFound('dead letter');
    return toDeadLetter(r);
  }
}

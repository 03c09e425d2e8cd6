import { notFound } from '../../errors.ts';
import type { DeadLetter, DeadLetterStore } from '../../ports/dead-letter-store.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { deadLetterRow, toDeadLetter } from './rows.ts';
import { CQL } from './statements.ts';

/**
 * Dead letters on Cassandra: the letter by id, claimed once per source record
 * (`dead_letter_sources`, `IF NOT EXISTS`), and listed newest first from one log partition.
 */
export class CassandraDeadLetterStore implements DeadLetterStore {
  constructor(private readonly ctx: CassandraContext) {}

  /**
   * The letter, then its log entry. Not one batch: a batch over two partitions is refused above
   * `batch_size_fail_threshold` (50 KiB by default), and a dead letter holds a whole record, which
   * may be larger. A crash in between is repaired when the same record comes again (`addDeadLetter`).
   */
  private async writeDeadLetter(l: DeadLetter) {
    const r = deadLetterRow(l);
    await this.ctx.db.run(CQL.insertDeadLetter, [
      r.id, r.reason, r.source_topic, r.source_partition, r.source_offset, r.record_key, r.record_value, r.headers, r.first_seen, r.status, r.updated_at,
    ]);
    await this.ctx.db.run(CQL.insertDeadLetterLog, [r.first_seen, r.id, r.status]);
  }

  async addDeadLetter(letter: DeadLetter) {
    const { db } = this.ctx;
    if ((await db.run(CQL.claimSource, [letter.topic, letter.partition, letter.offset, letter.id])).wasApplied()) {
      await this.writeDeadLetter(letter);
      return toDeadLetter(deadLetterRow(letter));
    }
    const holder = (await db.run(CQL.source, [letter.topic, letter.partition, letter.offset], { serial: true })).rows[0];
    const id = String(holder?.id ?? letter.id);
    const stored = await this.getDeadLetter(id);
    if (stored) {
      // Its log entry may be what a crash left out.
      if ((await db.run(CQL.deadLetterLogEntry, [stored.first_seen, stored.id])).rows.length === 0) {
        await db.run(CQL.insertDeadLetterLog, [stored.first_seen, stored.id, stored.status]);
      }
      return stored;
    }
    // The source was claimed by a writer that stopped before the letter: write it under that id.
    const repaired = { ...letter, id };
    await this.writeDeadLetter(repaired);
    return toDeadLetter(deadLetterRow(repaired));
  }

  async listDeadLetters(status?: DeadLetter['status'], limit = 500) {
    const ids: string[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.ctx.db.run(CQL.deadLetterLog, [], { fetchSize: Math.max(limit, 100), pageState });
      for (const r of page.rows) if (!status || r.status === status) ids.push(String(r.id));
      pageState = page.pageState ?? undefined;
    } while (pageState && ids.length < limit);
    const letters = await eachLimited(ids.slice(0, limit), PARALLEL, (id) => this.getDeadLetter(id));
    return letters.filter((l): l is DeadLetter => l !== null && (!status || l.status === status));
  }

  async getDeadLetter(id: string) {
    const r = (await this.ctx.db.run(CQL.deadLetter, [id])).rows[0];
    return r ? toDeadLetter(r) : null;
  }

  async setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string) {
    const l = await this.getDeadLetter(id);
    if (!l) throw notFound('dead letter');
    await this.ctx.db.batch([
      { query: CQL.setDeadLetterStatus, params: [status, at, id] },
      { query: CQL.setDeadLetterLogStatus, params: [status, l.first_seen, id] },
    ]);
    return { ...l, status, updated_at: at };
  }
}

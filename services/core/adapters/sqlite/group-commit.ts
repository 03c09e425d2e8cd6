import { writeTransaction, type SqliteDatabase } from './database.ts';

interface Op {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for one SQLite database: the small writes asked for during one turn of the event
 * loop (concurrent API requests accepting messages, counting rate limits; a connector marking
 * deliveries) share one write transaction. Every process of the local platform queues for the
 * file's one write lock, and better-sqlite3 waits for it in SQLite's busy handler, asleep on the
 * event loop: fewer, larger transactions are what lets the file keep up. Each write runs in its own
 * savepoint, so one that throws is undone alone and only its caller sees the error; every caller's
 * promise settles after the commit, so "resolved" still means "durable".
 */
export class GroupCommit {
  private pending: Op[] = [];
  private scheduled = false;
  /** Prepared once: a better-sqlite3 transaction function per write cost more than the write. */
  private readonly savepoint;

  constructor(private readonly db: SqliteDatabase) {
    this.savepoint = {
      begin: db.prepare('SAVEPOINT group_write'),
      release: db.prepare('RELEASE group_write'),
      undo: db.prepare('ROLLBACK TO group_write'),
    };
  }

  /** Runs `fn` (synchronous statements) in the next group transaction; resolves once it committed. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O of this turn: every request parsed in it joins the same transaction.
        setImmediate(() => this.commit());
      }
    });
  }

  private commit(): void {
    this.scheduled = false;
    const ops = this.pending;
    this.pending = [];
    if (!this.db.open) {
      for (const op of ops) op.reject(new Error('the database is closed'));
      return;
    }
    let outcomes: { ok: boolean; value: unknown }[] | undefined;
    // A whole group waits for the lock as one request would; when the busy timeout runs out it
    // is tried again before its callers hear of it (the transaction rolled back: nothing is
    // half-done), so a group is never less patient than its requests were one by one.
    for (let attempt = 1; !outcomes; attempt++) {
      try {
        outcomes = this.runGroup(ops);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_BUSY' && attempt < GROUP_ATTEMPTS) continue;
        // The transaction itself failed (the lock never came, the disk refused): nothing committed.
        for (const op of ops) op.reject(err);
        return;
      }
    }
    ops.forEach((op, i) => (outcomes[i]!.ok ? op.resolve(outcomes[i]!.value) : op.reject(outcomes[i]!.value)));
  }

  private runGroup(ops: Op[]): { ok: boolean; value: unknown }[] {
    const { begin, release, undo } = this.savepoint;
    return writeTransaction(this.db, () =>
      ops.map((op) => {
        begin.run();
        try {
          const value = op.fn();
          release.run();
          return { ok: true, value };
        } catch (err) {
          // Undo this write alone; the savepoint must still be released to leave it.
          undo.run();
          release.run();
          return { ok: false, value: err };
        }
      }),
    );
  }
}

/** Attempts of a group whose transaction did not get the write lock within the busy timeout. */
const GROUP_ATTEMPTS = 3;

const perDatabase = new WeakMap<SqliteDatabase, GroupCommit>();

/** The group commit of a database, shared by every store of the process that writes through it. */
export function groupCommitOf(db: SqliteDatabase): GroupCommit {
  let g = perDatabase.get(db);
  if (!g) {
    g = new GroupCommit(db);
    perDatabase.set(db, g);
  }
  return g;
}

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA } from './schema.ts';

/** One open SQLite database, shared by every store of a process. */
export type SqliteDatabase = Database.Database;

/**
 * Opens (creating it and its folder when missing) the SQLite file at `path`, or an in-memory
 * database for `':memory:'`, in WAL mode with the schema in place. Several processes may open the
 * same file: WAL lets readers go on while one writes, and the busy timeout makes a writer wait
 * for the lock instead of failing.
 */
export function openSqliteDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // The busy timeout first: switching to WAL needs the lock, which another process starting at
  // the same moment may hold ("database is locked" at start, seen on a busy machine).
  db.pragma('busy_timeout = 5000');
  // Even so, SQLite answers the switch "locked" without waiting while another connection is in
  // the middle of opening the new file: try again for a while (start-up only).
  retryWhileBusy(() => db.pragma('journal_mode = WAL'));
  db.pragma('synchronous = NORMAL');
  // SQLite's temporary files (a routing transaction opened, wrote and deleted one under /var/tmp
  // each time) stay in memory: about 40 % of the router's system time per message. They hold
  // what one statement or sort needs, never more than a transaction's worth.
  db.pragma('temp_store = MEMORY');
  // The schema too: five processes opening one new file at once on a loaded machine saw
  // "database is locked" here (a busy answer that skips the busy handler, or a wait longer than
  // the timeout). Every statement is IF NOT EXISTS, and one transaction makes it all or nothing.
  retryWhileBusy(() => writeTransaction(db, () => db.exec(SCHEMA)));
  return db;
}

/** Runs `fn` again (100 ms apart, about 10 s at most) while SQLite answers busy or locked; start-up only. */
function retryWhileBusy(fn: () => unknown): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fn();
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') && !code.startsWith('SQLITE_LOCKED')) throw err;
      if (attempt >= 100) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/**
 * Runs `fn` in one transaction that takes the write lock up front (BEGIN IMMEDIATE). A
 * transaction that reads and then writes must: begun deferred, it fails at once with SQLITE_BUSY
 * when another connection commits between its read and its write (the busy timeout does not
 * apply to that case).
 */
export function writeTransaction<T>(db: SqliteDatabase, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/** Whether the database answers a trivial query (for readiness). */
export function sqliteHealthy(db: SqliteDatabase): boolean {
  try {
    db.prepare('SELECT 1').get();
    return true;
  } catch {
    return false;
  }
}

/** Closes the database; closing twice is harmless. */
export function closeSqliteDatabase(db: SqliteDatabase): void {
  if (db.open) db.close();
}

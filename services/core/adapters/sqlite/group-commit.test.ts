import assert from 'node:assert/strict';
import { it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openSqliteDatabase, closeSqliteDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';

it('group commit: writes asked for in one turn share one transaction, and one that throws is undone alone', async () => {
  const db = openSqliteDatabase(':memory:');
  try {
    db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let transactions = 0;
    const transaction = db.transaction.bind(db);
    db.transaction = ((fn: Parameters<typeof transaction>[0]) => (transactions++, transaction(fn))) as typeof db.transaction;
    const group = new GroupCommit(db);
    const results = await Promise.allSettled([
      group.run(() => insert.run('a').changes),
      group.run(() => {
        insert.run('b');
        insert.run('a'); // a duplicate: this write fails, and its 'b' goes with it
      }),
      group.run(() => insert.run('c').changes),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[0] as PromiseFulfilledResult<number>).value, 1);
    assert.deepEqual((db.prepare('SELECT v FROM t ORDER BY v').all() as { v: string }[]).map((r) => r.v), ['a', 'c']);
    assert.equal(transactions, 1, 'one transaction for the group');
    assert.equal(db.inTransaction, false, 'committed');

    await group.run(() => insert.run('d'));
    assert.equal(transactions, 2, 'a later turn is a transaction of its own');
  } finally {
    closeSqliteDatabase(db);
  }
});

it('group commit: a group that waited out the busy timeout is tried again instead of failing all its callers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-sqlite-'));
  const file = join(dir, 'g.db');
  const db = openSqliteDatabase(file);
  try {
    db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
    db.pragma('busy_timeout = 100');
    // Another process holds the write lock for longer than one busy timeout.
    const holder = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const Database = require(workerData.module);
       const other = new Database(workerData.file);
       other.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       setTimeout(() => { other.exec('COMMIT'); other.close(); }, 180);`,
      { eval: true, workerData: { file, module: import.meta.resolve('better-sqlite3').replace(/^file:\/\//, '') } },
    );
    await new Promise((r) => holder.once('message', r));
    const group = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const results = await Promise.all([group.run(() => insert.run('a').changes), group.run(() => insert.run('b').changes)]);
    assert.deepEqual(results, [1, 1]);
    await holder.terminate();
  } finally {
    closeSqliteDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  }
});

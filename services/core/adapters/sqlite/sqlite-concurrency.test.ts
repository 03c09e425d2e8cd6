import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openSqliteStores } from './open-sqlite-stores.ts';

/**
 * Every process of the local platform opens the same SQLite file. A transaction that reads and
 * then writes must take the write lock up front (BEGIN IMMEDIATE): begun deferred, it fails at
 * once with SQLITE_BUSY when another connection commits between its read and its write (the busy
 * timeout does not apply to that case), which surfaced as HTTP 500s under load.
 */
it('read-then-write transactions do not fail with SQLITE_BUSY while another connection keeps writing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-sqlite-'));
  const file = join(dir, 'store.db');
  const stores = openSqliteStores(file);
  // Another connection (another process, as far as SQLite knows) committing small writes back to back.
  const writer = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.file);
     db.pragma('busy_timeout = 5000');
     const insert = db.prepare("INSERT INTO users (user_id, username, password_hash, email, role, created_at) VALUES (?, ?, 'x', NULL, 'user', '2026-01-01T00:00:00Z')");
     let stop = false;
     parentPort.on('message', () => (stop = true));
     (async () => {
       let n = 0;
       while (!stop && n < 200000) {
         insert.run('w' + n, 'writer-' + n);
         n++;
         if (n % 50 === 0) await new Promise((r) => setImmediate(r));
       }
       db.close();
       parentPort.postMessage(n);
     })();`,
    { eval: true, workerData: { file, module: require_('better-sqlite3') } },
  );
  const writes = new Promise<number>((resolve) => writer.once('message', resolve));
  try {
    const errors: string[] = [];
    const user = randomUUID();
    for (let i = 0; i < 400; i++) {
      try {
        await stores.users.linkIdentity({ user_id: user, channel: 'whatsapp', address: `+55${i}`, linked_at: new Date().toISOString() });
        await stores.conversations.createConversation({ conversation_id: randomUUID(), type: 'private', members: [user, randomUUID()], name: null, metadata: null, created_at: new Date().toISOString() });
      } catch (err) {
        errors.push((err as Error).message);
      }
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    writer.postMessage('stop');
    const n = await writes;
    assert.ok(n > 0, 'the other connection wrote meanwhile');
    assert.deepEqual(errors, []);
  } finally {
    await writer.terminate();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function require_(name: string): string {
  return import.meta.resolve(name).replace(/^file:\/\//, '').replace(/\/lib\/index\.js$/, '');
}

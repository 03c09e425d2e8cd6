import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStores } from './open-sqlite-stores.ts';

/**
 * Providers repeat statuses and send them late; every process shares the file's one write lock,
 * so a status that changes nothing must not queue for it.
 */
it('a status that cannot apply is answered without the write lock (another process holds it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-sqlite-'));
  const file = join(dir, 'store.db');
  const stores = openSqliteStores(file);
  const other = new Database(file);
  try {
    const [a, b] = [randomUUID(), randomUUID()];
    const conversation_id = randomUUID();
    const at = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: at });
    const message_id = randomUUID();
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: at,
    });
    const { deliveries } = await stores.messages.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+55' }], at);
    const delivery_id = deliveries[0]!.delivery_id;
    assert.equal((await stores.deliveries.applyStatus({ delivery_id, status: 'DELIVERED', at, source: 'provider' })).applied, true);

    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    const repeat = await stores.deliveries.applyStatus({ delivery_id, status: 'DELIVERED', at, source: 'provider' });
    const late = await stores.deliveries.applyStatus({ delivery_id, status: 'SENT', at, source: 'provider' });
    const ms = performance.now() - started;
    other.exec('ROLLBACK');
    assert.deepEqual([repeat.applied, late.applied], [false, false]);
    assert.equal(repeat.delivery?.status, 'DELIVERED');
    assert.ok(ms < 1000, `answered in ${Math.round(ms)} ms, not after the busy timeout`);
    assert.equal((await stores.deliveries.applyStatus({ delivery_id, status: 'READ', at, source: 'provider' })).applied, true, 'a real change still applies');
  } finally {
    other.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { StoredDelivery } from '../loadtest/generator.ts';
import { slopeOf } from './lag-sampler.ts';
import { sqliteDeliveredSource } from './store-deliveries.ts';

test('the store tail hands on only DELIVERED and READ entries written after it started, with their stored time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-store-tail-'));
  const path = join(dir, 'store.db');
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, delivery_id TEXT, recipient_id TEXT, channel TEXT, status TEXT NOT NULL, at TEXT NOT NULL, error TEXT)');
    const add = db.prepare('INSERT INTO history (message_id, status, at) VALUES (?, ?, ?)');
    add.run('before', 'DELIVERED', '2026-01-01T00:00:00.000Z');
    const seen: StoredDelivery[] = [];
    const tail = await sqliteDeliveredSource(path, 10)((entries) => seen.push(...entries));
    add.run('m1', 'SENT', '2026-01-01T00:00:01.000Z');
    add.run('m1', 'DELIVERED', '2026-01-01T00:00:02.000Z');
    add.run('m2', 'READ', '2026-01-01T00:00:03.000Z');
    await tail.stop();
    assert.deepEqual(seen, [
      { message_id: 'm1', at: Date.parse('2026-01-01T00:00:02.000Z') },
      { message_id: 'm2', at: Date.parse('2026-01-01T00:00:03.000Z') },
    ]);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lag slope is the backlog growth per second: flat is 0, a growing backlog is its rate', () => {
  assert.equal(slopeOf([{ t: 10, lag: 5 }, { t: 20, lag: 5 }, { t: 30, lag: 5 }]), 0);
  assert.equal(slopeOf([{ t: 10, lag: 100 }, { t: 20, lag: 600 }, { t: 30, lag: 1100 }]), 50);
  assert.equal(slopeOf([{ t: 10, lag: 100 }]), 0);
});

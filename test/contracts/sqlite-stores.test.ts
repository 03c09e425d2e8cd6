import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../../services/core/adapters/sqlite/open-sqlite-stores.ts';
import { storesContract } from './stores-contract.ts';

const dirs: string[] = [];
const freshFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'c4a-store-'));
  dirs.push(dir);
  return join(dir, 'db.sqlite');
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storesContract('SQLite stores (file)', async () => openSqliteStores(freshFile()), async () => {
  const path = freshFile();
  return { stores: openSqliteStores(path), reopen: async () => openSqliteStores(path) };
});
storesContract('SQLite stores (memory)', async () => openSqliteStores(':memory:'));

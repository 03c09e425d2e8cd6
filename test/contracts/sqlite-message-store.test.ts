import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMessageStore } from '../../services/core/adapters/sqlite-message-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('SqliteMessageStore (file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'c4a-store-'));
  const path = join(dir, 'db.sqlite');
  return { store: new SqliteMessageStore(path), reopen: () => new SqliteMessageStore(path), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});
storeContract('SqliteMessageStore (memory)', () => ({ store: new SqliteMessageStore(':memory:') }));

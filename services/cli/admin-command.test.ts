import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { EXIT } from './cli-error.ts';
import { runCli } from './run-cli.ts';
import type { CliIo } from './cli-context.ts';

function io(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { env, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => '', onInterrupt: () => undefined };
  return { cli, out, err };
}

describe('chat4all admin grant|revoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-admin-'));
  const path = join(dir, 'chat4all.db');
  const env = { STORE_DRIVER: 'sqlite', SQLITE_PATH: path, LOG_LEVEL: 'silent' };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('grants and revokes the role in the store the environment names', async () => {
    const stores = openSqliteStores(path);
    await stores.users.createUser({ user_id: 'u-ops', username: 'ops', password_hash: 'x', created_at: new Date().toISOString() });
    try {
      const grant = io(env);
      assert.equal(await runCli(['admin', 'grant', 'ops'], grant.cli), EXIT.ok, grant.err.join('\n'));
      assert.match(grant.out.join('\n'), /ops \(u-ops\) is now an admin in SQLite/);
      assert.equal((await stores.users.getUser('u-ops'))?.role, 'admin', 'another connection to the file sees it');
      const revoke = io(env);
      assert.equal(await runCli(['admin', 'revoke', 'ops'], revoke.cli), EXIT.ok);
      assert.equal((await stores.users.getUser('u-ops'))?.role, 'user');
    } finally {
      await stores.close();
    }
  });

  it('says so for an unknown user, a wrong command line and the per-process memory store', async () => {
    const unknown = io(env);
    assert.equal(await runCli(['admin', 'grant', 'nobody'], unknown.cli), EXIT.notFound);
    assert.match(unknown.err.join('\n'), /no user "nobody" in SQLite/);
    const usage = io(env);
    assert.equal(await runCli(['admin', 'promote', 'ops'], usage.cli), EXIT.usage);
    const memory = io({ STORE_DRIVER: 'memory' });
    assert.equal(await runCli(['admin', 'grant', 'ops'], memory.cli), EXIT.error);
    assert.match(memory.err.join('\n'), /STORE_DRIVER=memory/);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../api/test-api.ts';
import { runCli } from './run-cli.ts';
import { EXIT } from './cli-error.ts';

describe('chat4all conversations (list)', () => {
  let api: TestApi;
  let home: string;
  before(async () => {
    api = await startTestApi();
    home = mkdtempSync(join(tmpdir(), 'chat4all-cli-'));
  });
  after(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists every conversation, following the API’s pages past the first', async () => {
    const me = await api.user('pager');
    const other = await api.user('other');
    const at = new Date().toISOString();
    // More than one page of the largest size the API answers (200).
    const ids = Array.from({ length: 205 }, () => randomUUID());
    for (const conversation_id of ids) {
      await api.stores.conversations.createConversation({ conversation_id, type: 'group', members: [me.user_id, other.user_id], name: null, metadata: null, created_at: at });
    }
    const env = { XDG_CONFIG_HOME: join(home, 'config'), CHAT4ALL_API: api.url, CHAT4ALL_PASSWORD: me.password };
    const out: string[] = [];
    const run = (...argv: string[]) => runCli(argv, { env, stdout: (s) => out.push(s), stderr: () => undefined, readStdin: async () => '' });
    assert.equal(await run('login', '--username', me.username), EXIT.ok);
    out.length = 0;
    assert.equal(await run('conversations', '--json'), EXIT.ok);
    const listed = JSON.parse(out.join('\n')).conversations.map((c: { conversation_id: string }) => c.conversation_id);
    assert.deepEqual(listed, [...ids].sort());
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../api/test-api.ts';
import { runCli } from './run-cli.ts';
import { EXIT } from './cli-error.ts';
import { deliveryTopic } from '../core/topics.ts';

/** Runs the CLI in-process with its own config dir; returns the exit code and what it printed. */
function cli(env: NodeJS.ProcessEnv, stdin = '') {
  return async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { env, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => stdin });
    return { code, out: out.join('\n'), err: err.join('\n'), json: () => JSON.parse(out.join('\n')) };
  };
}

describe('chat4all commands for people, against the API', () => {
  let api: TestApi;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const password = 'correct horse battery';

  before(async () => {
    api = await startTestApi();
    home = mkdtempSync(join(tmpdir(), 'chat4all-cli-'));
    env = { XDG_CONFIG_HOME: join(home, 'config'), CHAT4ALL_API: api.url, CHAT4ALL_PASSWORD: password };
  });
  after(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('registers, keeps the token in a 0600 file in a 0700 config dir, and logs out', async () => {
    const username = `maria_${Date.now() % 100000}`;
    const r = await cli(env)('register', '--username', username, '--json');
    assert.equal(r.code, EXIT.ok, r.err);
    const file = join(home, 'config', 'chat4all', 'session.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'config', 'chat4all')).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.username, username);
    assert.equal(saved.user_id, r.json().user_id);
    assert.equal(saved.api, api.url);
    // The token works: whoami and an authenticated list.
    const who = await cli(env)('whoami', '--json');
    assert.equal(who.json().username, username);
    assert.deepEqual((await cli(env)('conversations', '--json')).json(), { conversations: [] });
    const out = await cli(env)('logout');
    assert.equal(out.code, EXIT.ok);
    assert.equal(existsSync(file), false);
    const after = await cli(env)('conversations');
    assert.equal(after.code, EXIT.auth);
    assert.match(after.err, /you are not logged in\nrun 'chat4all login'/);
  });

  it('logs in with the password from stdin, and a wrong password exits 3 with a hint', async () => {
    const u = await api.user('cli');
    const noPassEnv = { ...env, CHAT4ALL_PASSWORD: undefined };
    const bad = await cli(noPassEnv, 'not the password\n')('login', '--username', u.username, '--password-stdin');
    assert.equal(bad.code, EXIT.auth);
    assert.match(bad.err, new RegExp(`wrong username or password for ${u.username}`));
    const good = await cli(noPassEnv, `${u.password}\n`)('login', '--username', u.username, '--password-stdin');
    assert.equal(good.code, EXIT.ok, good.err);
    assert.match(good.out, new RegExp(`logged in as ${u.username} \\(${u.user_id}\\)`));
    // Without a terminal to ask on and nothing given, it is a usage error, not a hang.
    const none = await cli({ ...noPassEnv })('login');
    assert.equal(none.code, EXIT.usage);
    assert.match(none.err, /a username is needed/);
  });

  it('creates a conversation, sends, and shows the history with the status per recipient', async () => {
    const bob = await api.user('bob');
    const alice = await api.user('alice');
    assert.equal((await cli(env)('login', '--username', alice.username)).code, EXIT.ok);
    const created = await cli(env)('conversations', 'create', '--private', bob.user_id, '--json');
    assert.equal(created.code, EXIT.ok, created.err);
    const conv = created.json();
    assert.deepEqual([...conv.members].sort(), [alice.user_id, bob.user_id].sort());
    const list = await cli(env)('conversations');
    assert.match(list.out, new RegExp(`${conv.conversation_id}  private  with ${bob.user_id}`));

    const sent = await cli(env)('send', conv.conversation_id, 'Olá', 'Bob!', '--channels', 'internal', '--json');
    assert.equal(sent.code, EXIT.ok, sent.err);
    const messageId = sent.json().message_id;
    assert.equal(sent.json().status, 'accepted');
    // The test API has no router: order the message and create Bob's delivery as a router would.
    await api.stores.messages.routeMessage(messageId, [{ recipient_id: bob.user_id, channel: 'internal', address: null }], new Date().toISOString());

    const history = await cli(env)('messages', conv.conversation_id);
    assert.equal(history.code, EXIT.ok, history.err);
    assert.match(history.out, /#1 {2}\S+ {2}you: Olá Bob!/);
    assert.match(history.out, new RegExp(`→ ${bob.user_id}: internal SENT`));
    const asJson = (await cli(env)('messages', conv.conversation_id, '--json')).json();
    assert.equal(asJson.messages[0].deliveries[0].status, 'SENT');
    assert.equal(asJson.has_more, false);
  });

  it('links, lists and removes identities; shows each bad field of a refused request', async () => {
    const u = await api.user('ids');
    assert.equal((await cli(env)('login', '--username', u.username)).code, EXIT.ok);
    const bad = await cli(env)('identities', 'link', 'whatsapp', '12345');
    assert.equal(bad.code, EXIT.error);
    assert.match(bad.err, /address: must be an E\.164 number/);
    const phone = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    assert.equal((await cli(env)('identities', 'link', 'whatsapp', phone)).code, EXIT.ok);
    const listed = (await cli(env)('identities', '--json')).json();
    assert.deepEqual(listed.identities.map((i: { address: string }) => i.address), [phone]);
    assert.equal((await cli(env)('identities', 'remove', 'whatsapp', phone)).code, EXIT.ok);
    const again = await cli(env)('identities', 'remove', 'whatsapp', phone, '--json');
    assert.equal(again.code, EXIT.notFound);
    assert.equal(JSON.parse(again.err).error.problem.status, 404);
  });

  it('exit codes: 2 for usage, 4 for a conversation that is not yours, 5 for an API that does not answer, 6 for what comes later', async () => {
    const u = await api.user('codes');
    assert.equal((await cli(env)('login', '--username', u.username)).code, EXIT.ok);
    assert.equal((await cli(env)('conversations', 'create', '--bogus')).code, EXIT.usage);
    assert.equal((await cli(env)('send', 'only-a-conversation')).code, EXIT.usage);
    assert.equal((await cli(env)('messages', 'x', '--limit', 'ten')).code, EXIT.usage);
    assert.equal((await cli(env)('status', '--api', 'ftp://x')).code, EXIT.usage);
    const missing = await cli(env)('messages', '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.code, EXIT.notFound);
    assert.match(missing.err, /conversation not found/);
    const down = await cli(env)('conversations', '--api', 'http://127.0.0.1:9');
    assert.equal(down.code, EXIT.unavailable);
    assert.match(down.err, /cannot reach the API at http:\/\/127\.0\.0\.1:9/);
    for (const argv of [['users', 'find', 'nobody_has_this_name'], ['conversations', 'create', '--private', 'nobody_has_this_name']]) {
      const r = await cli(env)(...argv);
      assert.equal(r.code, EXIT.notFound, argv.join(' '));
      assert.match(r.err, /no user is called nobody_has_this_name/);
    }
    const noCode = await cli(env)('identities', 'verify', 'whatsapp', '+5511999990001', '123456');
    assert.equal(noCode.code, EXIT.error, 'no pending link: refused');
    assert.match(noCode.err, /the code is wrong, expired or used up/);
    const noFile = await cli(env)('send', 'c', 'hi', '--file', 'no-such-photo.jpg');
    assert.equal(noFile.code, EXIT.error);
    assert.match(noFile.err, /cannot read no-such-photo\.jpg: ENOENT/);
  });

  it('finds users by exact name, creates a group by usernames, removes a member and leaves', async () => {
    const [owner, bob, carol] = [await api.user('owner'), await api.user('bob'), await api.user('carol')];
    assert.equal((await cli(env)('login', '--username', owner.username)).code, EXIT.ok);
    const found = await cli(env)('users', 'find', bob.username, '--json');
    assert.equal(found.code, EXIT.ok, found.err);
    assert.deepEqual(found.json(), { user_id: bob.user_id, username: bob.username });
    const created = await cli(env)('conversations', 'create', '--group', '--name', 'team', bob.username, carol.username, '--json');
    assert.equal(created.code, EXIT.ok, created.err);
    const id = created.json().conversation_id as string;
    const removed = await cli(env)('conversations', 'remove', id, bob.username);
    assert.equal(removed.code, EXIT.ok, removed.err);
    assert.match(removed.out, /removed .* \(the history is kept\)/);
    assert.deepEqual((await cli(env)('conversations', 'show', id, '--json')).json().members, [owner.user_id, carol.user_id]);
    assert.equal((await cli(env)('conversations', 'remove', id, bob.username)).code, EXIT.notFound, 'not a member any more');
    const left = await cli(env)('conversations', 'leave', id);
    assert.equal(left.code, EXIT.ok, left.err);
    assert.equal((await cli(env)('conversations', 'show', id)).code, EXIT.notFound, 'gone for the one who left');
  });

  it('status reports the API ready and the gateway down (exit 5), as JSON too', async () => {
    const r = await cli(env)('status', '--gateway', 'ws://127.0.0.1:9/v1/stream', '--json');
    assert.equal(r.code, EXIT.unavailable);
    const s = r.json();
    assert.equal(s.api.ready, true);
    assert.deepEqual(s.api.checks, { store: true, bus: true });
    assert.equal(s.gateway.up, false);
  });

  it('an expired session exits 3 before sending anything', async () => {
    const u = await api.user('late');
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-cli-exp-'));
    const e = { ...env, XDG_CONFIG_HOME: dir };
    assert.equal((await cli(e)('login', '--username', u.username)).code, EXIT.ok);
    const file = join(dir, 'chat4all', 'session.json');
    const s = JSON.parse(readFileSync(file, 'utf8'));
    const { writeSession } = await import('./config-dir.ts');
    writeSession(join(dir, 'chat4all'), { ...s, expires_at: new Date(Date.now() - 1000).toISOString() });
    const r = await cli(e)('conversations');
    assert.equal(r.code, EXIT.auth);
    assert.match(r.err, /expired/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the installed command exits with the documented code', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, ['bin/chat4all.js', ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, _o, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    const usage = await run(['no-such-command']);
    assert.equal(usage.code, EXIT.usage);
    assert.match(usage.stderr, /unknown command "no-such-command"/);
    const notFound = await run(['conversations', 'show', 'nope']);
    assert.equal(notFound.code, EXIT.notFound, notFound.stderr);
  });
});

describe('chat4all identities link and verify, against an API that verifies identities', () => {
  let api: TestApi;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const texts: { to: string; text: string }[] = [];

  before(async () => {
    api = await startTestApi({ identityVerification: 'on' });
    // What the WhatsApp connector would send: the code job on the channel's delivery topic.
    await api.bus.subscribe({ group: 'cli-test-codes', topics: [deliveryTopic('whatsapp')], fromBeginning: true, handler: async (m) => void texts.push(JSON.parse(m.value)) });
    home = mkdtempSync(join(tmpdir(), 'chat4all-cli-'));
    env = { XDG_CONFIG_HOME: join(home, 'config'), CHAT4ALL_API: api.url, CHAT4ALL_PASSWORD: 'correct horse battery' };
  });
  after(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('links (pending, code sent), lists it as not verified, refuses a wrong code (exit 1) and verifies with the right one', async () => {
    const u = await api.user('ver');
    assert.equal((await cli(env)('login', '--username', u.username)).code, EXIT.ok);
    const phone = `+55119${String(Date.now() % 1e8).padStart(8, '0')}`;
    const linked = await cli(env)('identities', 'link', 'whatsapp', phone);
    assert.equal(linked.code, EXIT.ok, linked.err);
    assert.match(linked.out, /a one-time code is on its way/);
    assert.match((await cli(env)('identities')).out, /\(not verified\)/);
    let code = '';
    for (let i = 0; i < 100 && !code; i++) {
      code = /code is (\d{6})/.exec(texts.find((t) => t.to === phone)?.text ?? '')?.[1] ?? '';
      if (!code) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(code, 'a code was sent to the number');
    const bad = await cli(env)('identities', 'verify', 'whatsapp', phone, code === '000000' ? '111111' : '000000');
    assert.equal(bad.code, EXIT.error);
    assert.match(bad.err, /wrong code: 4 tries left/);
    const ok = await cli(env)('identities', 'verify', 'whatsapp', phone, code, '--json');
    assert.equal(ok.code, EXIT.ok, ok.err);
    assert.equal(ok.json().verified, true);
    assert.doesNotMatch((await cli(env)('identities')).out, /not verified/);
  });
});

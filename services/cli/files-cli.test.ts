import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../core/ports/stores.ts';
import { startLocalS3, type LocalS3 } from '../lib/local-s3.ts';
import { startTestApi, type TestApi } from '../api/test-api.ts';
import { EXIT } from './cli-error.ts';
import { runCli } from './run-cli.ts';

const MiB = 2 ** 20;

// The CLI's file commands against the real API and a real S3 protocol (s3rver): what a person
// runs, end to end. The resume after kills is proven in test/files/files-proof.test.ts.
describe('chat4all upload, send --file and download against the API and a local S3', () => {
  let dir: string;
  let s3: LocalS3;
  let stores: Stores;
  let api: TestApi;
  let alice: Awaited<ReturnType<TestApi['user']>>;
  let bob: Awaited<ReturnType<TestApi['user']>>;
  let eve: Awaited<ReturnType<TestApi['user']>>;
  let conversation: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat4all-files-cli-'));
    s3 = await startLocalS3({ directory: join(dir, 's3'), port: 0 });
    stores = openSqliteStores(join(dir, 'api.db'));
    api = await startTestApi({ s3Endpoint: s3.endpoint, s3Bucket: `cli-${randomBytes(4).toString('hex')}`, fileMaxOpenUploads: 2 }, { stores });
    await api.objects.ensureBucket();
    [alice, bob, eve] = [await api.user('alice'), await api.user('bob'), await api.user('eve')];
    conversation = (await api.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', members: [bob.user_id] } })).body.conversation_id;
  });
  after(async () => {
    await api?.close();
    await stores?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI in-process as `who`, with its own config dir. */
  const as = (who: { user_id: string; token: string }) => async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const env = { XDG_CONFIG_HOME: join(dir, `config-${who.user_id}`), CHAT4ALL_API: api.url, CHAT4ALL_TOKEN: who.token };
    const code = await runCli(argv, { env, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => '' });
    return { code, out: out.join('\n'), err: err.join('\n'), json: () => JSON.parse(out.join('\n')) };
  };

  it('sends a file as a message, a member downloads it with the sha256 checked, a non-member gets 404', async () => {
    const data = randomBytes(8 * MiB + 4321); // two parts: 8 MiB and the rest
    const src = join(dir, 'report.pdf');
    writeFileSync(src, data);
    const sent = await as(alice)('send', conversation, '--file', src, '--caption', 'Q3 numbers', '--channels', 'internal', '--json');
    assert.equal(sent.code, EXIT.ok, sent.err);
    const message = (await api.request('GET', `/v1/messages/${sent.json().message_id}`, { token: alice.token })).body;
    assert.equal(message.payload.type, 'file');
    assert.equal(message.payload.caption, 'Q3 numbers');
    const fileId = message.payload.file_id as string;
    const record = await api.request('GET', `/v1/files/${fileId}`, { token: alice.token });
    assert.equal(record.body.state, 'ready');
    assert.equal(record.body.content_type, 'application/pdf');
    assert.equal(record.body.part_count, 2);
    assert.equal(record.body.sha256, createHash('sha256').update(data).digest('hex'));

    const dest = join(dir, 'bob-copy.pdf');
    const got = await as(bob)('download', fileId, '-o', dest);
    assert.equal(got.code, EXIT.ok, got.err);
    assert.match(got.out, /^saved .*bob-copy\.pdf \(8\.0 MiB, sha256 [0-9a-f]{64} checked\)$/);
    assert.deepEqual(readFileSync(dest), data);

    const denied = await as(eve)('download', fileId, '-o', join(dir, 'eve.pdf'));
    assert.equal(denied.code, EXIT.notFound);
  });

  it('resumes a partial download with Range against object storage', async () => {
    const data = randomBytes(3 * MiB);
    const src = join(dir, 'clip.mp4');
    writeFileSync(src, data);
    const up = await as(alice)('upload', src, '--conversation', conversation, '--json');
    assert.equal(up.code, EXIT.ok, up.err);
    const dest = join(dir, 'bob-clip.mp4');
    writeFileSync(`${dest}.part`, data.subarray(0, MiB)); // what an interrupted download left
    const got = await as(bob)('download', up.json().file_id, '-o', dest);
    assert.equal(got.code, EXIT.ok, got.err);
    assert.match(got.err, /resuming .*bob-clip\.mp4 from 1048576 of 3145728 bytes/);
    assert.match(got.out, /resumed from 1\.0 MiB/, 'S3 answered 206: only the rest came');
    assert.deepEqual(readFileSync(dest), data);
  });

  it('upload --json, and the same command again answers the same ready file at once', async () => {
    const data = randomBytes(300_000);
    const src = join(dir, 'photo.png');
    writeFileSync(src, data);
    const first = await as(alice)('upload', src, '--conversation', conversation, '--json');
    assert.equal(first.code, EXIT.ok, first.err);
    assert.deepEqual(Object.keys(first.json()), ['file_id', 'sha256', 'state']);
    assert.equal(first.json().state, 'ready');
    const again = await as(alice)('upload', src, '--conversation', conversation, '--json');
    assert.deepEqual(again.json(), first.json());
    assert.doesNotMatch(again.err, /uploading/, 'nothing sent again');
    const human = await as(alice)('upload', src, '--conversation', conversation);
    assert.match(human.out, new RegExp(`^ready ${first.json().file_id} \\(293\\.0 KiB, sha256 [0-9a-f]{64}, uploaded before: nothing sent\\)$`));
  });

  it('refuses a file over 2 GiB before reading it, a type the platform does not take, and too many open uploads', async () => {
    const huge = join(dir, 'huge.bin');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, 2 ** 31 + 1); // sparse: no disk used
    closeSync(fd);
    const started = Date.now();
    const tooBig = await as(alice)('upload', huge, '--conversation', conversation);
    assert.equal(tooBig.code, EXIT.error);
    assert.match(tooBig.err, /is 2147483649 bytes: over the 2147483648-byte \(2 GiB\) limit/);
    assert.ok(Date.now() - started < 2000, 'refused without hashing 2 GiB');

    const exe = join(dir, 'tool.exe');
    writeFileSync(exe, randomBytes(1000));
    const badType = await as(alice)('upload', exe, '--conversation', conversation, '--type', 'application/x-msdownload');
    assert.equal(badType.code, EXIT.error, badType.err);
    assert.match(badType.err, /not allowed here; name another with --type/);

    // Two sessions left open (FILE_MAX_OPEN_UPLOADS=2 here): a third is refused with what to do.
    for (let i = 0; i < 2; i++) {
      const open = await api.request('POST', '/v1/files', {
        token: bob.token,
        body: { filename: `f${i}.txt`, size: 10, content_type: 'text/plain', sha256: '0'.repeat(64), conversation_id: conversation },
      });
      assert.equal(open.status, 201, open.text);
    }
    const txt = join(dir, 'note.txt');
    writeFileSync(txt, 'hello');
    const quota = await as(bob)('upload', txt, '--conversation', conversation);
    assert.equal(quota.code, EXIT.error, quota.err);
    assert.match(quota.err, /too many uploads open: finish them/);
  });
});

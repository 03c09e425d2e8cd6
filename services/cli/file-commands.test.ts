import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from './cli-error.ts';
import { startFakeFileApi } from './fake-file-api.ts';
import { safeName } from './file-download.ts';
import { runCli } from './run-cli.ts';

const PART = 64 * 1024;

describe('chat4all upload and download (against a loopback fake of the files protocol)', () => {
  let fake: Awaited<ReturnType<typeof startFakeFileApi>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    fake = await startFakeFileApi({ partSize: PART });
    dir = mkdtempSync(join(tmpdir(), 'chat4all-files-cli-'));
    // The CLI reads only `sub` and `exp` of the token; the fake does not check it.
    const claims = Buffer.from(JSON.stringify({ sub: 'usr_cli', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    env = { XDG_CONFIG_HOME: join(dir, 'config'), CHAT4ALL_API: fake.url, CHAT4ALL_TOKEN: `x.${claims}.y` };
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { env, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => '' });
    return { code, out: out.join('\n'), err: err.join('\n'), json: () => JSON.parse(out.join('\n')) };
  }

  it('upload --json prints file_id, sha256 and state; download checks the sha256 and resumes a partial file', async () => {
    const data = randomBytes(3 * PART + 17);
    const src = join(dir, 'clip.mp4');
    writeFileSync(src, data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const up = await cli('upload', src, '--conversation', 'cnv_1', '--json');
    assert.equal(up.code, EXIT.ok, up.err);
    const { file_id, ...rest } = up.json();
    assert.match(file_id, /^fil_/);
    assert.deepEqual(rest, { sha256, state: 'ready' });
    assert.equal(fake.files.get(file_id)!.content_type, 'video/mp4');
    // Progress goes to stderr (plain lines off a terminal): hashing then uploading, each ending at 100 %.
    assert.match(up.err, /hashing clip\.mp4\s+100% /);
    assert.match(up.err, /uploading clip\.mp4\s+100% 192\.0 KiB \/ 192\.0 KiB/);

    const dest = join(dir, 'copy.mp4');
    const down = await cli('download', file_id, '-o', dest, '--json');
    assert.equal(down.code, EXIT.ok, down.err);
    assert.deepEqual(readFileSync(dest), data);
    assert.equal(down.json().sha256, sha256);

    // An interrupted download left its first bytes in PATH.part: the next run asks only for the rest.
    const again = join(dir, 'again.mp4');
    writeFileSync(`${again}.part`, data.subarray(0, PART));
    const resumed = await cli('download', file_id, '-o', again);
    assert.equal(resumed.code, EXIT.ok, resumed.err);
    assert.match(resumed.err, /resuming .*again\.mp4 from 65536 of 196625 bytes/);
    assert.match(resumed.out, /resumed from 64\.0 KiB/);
    assert.deepEqual(readFileSync(again), data);
    assert.equal(existsSync(`${again}.part`), false);

    // A partial file that does not match the record: the check catches it and nothing takes the name.
    const bad = join(dir, 'bad.mp4');
    writeFileSync(`${bad}.part`, randomBytes(PART));
    const refused = await cli('download', file_id, '-o', bad);
    assert.equal(refused.code, EXIT.error);
    assert.match(refused.err, /the bytes received have sha256 \w+, the record says \w+: removed/);
    assert.equal(existsSync(bad), false);
    assert.equal(existsSync(`${bad}.part`), false);
  });

  it('the same upload command after a crash sends only the missing parts', async () => {
    const data = randomBytes(6 * PART);
    const src = join(dir, 'big.bin');
    writeFileSync(src, data);
    // A crash after the session was made and two parts were recorded: what the state file and the API hold then.
    const first = await cli('upload', src, '--conversation', 'cnv_2', '--json');
    assert.equal(first.code, EXIT.ok);
    const f = fake.files.get(first.json().file_id)!;
    f.state = 'uploading';
    for (const p of [3, 4, 5, 6]) f.recorded.delete(p);
    const state = join(dir, 'config', 'chat4all', 'uploads-usr_cli.json');
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    for (const e of Object.values(saved) as { state?: string }[]) e.state = 'uploading';
    writeFileSync(state, JSON.stringify(saved));
    const puts = fake.counts.part_puts;
    const second = await cli('upload', src, '--conversation', 'cnv_2');
    assert.equal(second.code, EXIT.ok, second.err);
    assert.equal(fake.counts.part_puts - puts, 4);
    assert.match(second.err, /resuming fil_\w+: 4 of 6 parts to send/);
    assert.match(second.out, /^ready fil_\w+ \(384\.0 KiB, sha256 \w+, resumed: 4 of 6 parts sent by this run\)$/);
  });

  it('explains refusals and usage mistakes', async () => {
    const noConv = await cli('upload', join(dir, 'x'));
    assert.equal(noConv.code, EXIT.usage);
    assert.match(noConv.err, /upload needs --conversation/);
    const missing = await cli('upload', join(dir, 'nope.bin'), '--conversation', 'c');
    assert.equal(missing.code, EXIT.error);
    assert.match(missing.err, /cannot read .*nope\.bin: ENOENT/);
    const gone = await cli('download', 'fil_nothing');
    assert.equal(gone.code, EXIT.notFound);
    const conc = await cli('upload', join(dir, 'x'), '--conversation', 'c', '--concurrency', '0');
    assert.equal(conc.code, EXIT.usage);
  });

  it('never writes outside the folder a downloaded name lands in', () => {
    assert.equal(safeName('../../etc/passwd', 'fil_1'), 'passwd');
    assert.equal(safeName('..\\..\\win.ini', 'fil_1'), 'win.ini');
    assert.equal(safeName('..', 'fil_1'), 'fil_1');
    assert.equal(safeName('a\u0007b.txt', 'fil_1'), 'ab.txt');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './cli-error.ts';
import { startFakeFileApi } from './fake-file-api.ts';
import { contentTypeFor } from './content-type.ts';
import { uploadFile, type UploadOptions } from './file-upload.ts';
import { HttpClient } from './http-client.ts';
import { UploadState, uploadsFile } from './upload-state.ts';

const PART = 64 * 1024;

describe('uploadFile: the client side of the files protocol', () => {
  let fake: Awaited<ReturnType<typeof startFakeFileApi>>;
  let dir: string;
  let n = 0;

  before(async () => {
    fake = await startFakeFileApi({ partSize: PART });
    dir = mkdtempSync(join(tmpdir(), 'chat4all-upload-'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A file of `size` random bytes and the options to upload it, with its own config dir. */
  function setup(size: number) {
    const path = join(dir, `f${++n}.bin`);
    const data = randomBytes(size);
    writeFileSync(path, data);
    const sent: number[] = [];
    const logs: string[] = [];
    const phases: string[] = [];
    const opts: UploadOptions = {
      api: new HttpClient(fake.url),
      userId: 'usr_1',
      stateDir: join(dir, `config${n}`),
      path,
      conversationId: 'cnv_1',
      onPartSent: (p) => sent.push(p),
      log: (l) => logs.push(l),
      progress: (phase) => {
        phases.push(phase);
        return { start() {}, add() {}, finish() {}, interrupt() {} };
      },
      pollMs: 10,
    };
    return { path, data, sha256: createHash('sha256').update(data).digest('hex'), sent, logs, phases, opts };
  }

  it('hashes, sends every part once, completes, and the stored object is the file', async () => {
    const s = setup(5 * PART + 123);
    const r = await uploadFile(s.opts);
    assert.equal(r.state, 'ready');
    assert.equal(r.sha256, s.sha256);
    assert.equal(r.part_count, 6);
    assert.equal(r.parts_sent, 6);
    assert.deepEqual([...s.sent].sort(), [1, 2, 3, 4, 5, 6]);
    const f = fake.files.get(r.file_id)!;
    assert.equal(f.state, 'ready');
    assert.equal(f.filename, 'f1.bin');
    assert.equal(f.content_type, 'application/octet-stream');
    assert.deepEqual(Buffer.concat([...f.stored.values()].map((p) => p.bytes)).equals(s.data), true);
  });

  it('after an interruption, the same call sends only the missing parts, without hashing again', async () => {
    const s = setup(10 * PART);
    const abort = new AbortController();
    // Stop after the 4th part reached storage: the kill of a person pressing Ctrl-C mid-way.
    const first = uploadFile({ ...s.opts, concurrency: 1, signal: abort.signal, onPartSent: (p) => (s.sent.push(p), s.sent.length === 4 && abort.abort(new Error('interrupted'))) });
    await assert.rejects(first, /interrupted/);
    const before = fake.counts.part_puts;
    const again: number[] = [];
    const r = await uploadFile({ ...s.opts, onPartSent: (p) => again.push(p) });
    assert.equal(r.state, 'ready');
    assert.equal(r.resumed, true);
    // Parts 1–3 were recorded; the 4th reached storage but its ETag may not have been reported: at most it is sent again.
    assert.ok(again.length <= 7 && again.length >= 6, `sent again: ${again}`);
    assert.ok(!again.includes(1) && !again.includes(2) && !again.includes(3), `sent again: ${again}`);
    assert.equal(fake.counts.part_puts - before, again.length);
    assert.deepEqual(s.phases, ['hashing', 'sending', 'sending'], 'hashed once');
    assert.match(s.logs.join('\n'), /resuming fil_\w+: \d of 10 parts to send/);
    // Once ready, the same command answers at once with the same file.
    const third = await uploadFile(s.opts);
    assert.equal(third.file_id, r.file_id);
    assert.equal(third.parts_sent, 0);
  });

  it('asks for a fresh URL when object storage refuses an expired one', async () => {
    const s = setup(3 * PART);
    fake.faults.refuseNextPuts = 1;
    const urlCalls = fake.counts.url_requests;
    const r = await uploadFile({ ...s.opts, concurrency: 1 });
    assert.equal(r.state, 'ready');
    assert.equal(fake.counts.url_requests - urlCalls, 2, 'one batch, then one renewal');
    assert.match(s.logs.join('\n'), /part 1: object storage answered 403 AccessDenied: asking for a fresh URL/);
  });

  it('rides out an API that is unavailable for a moment (a restart) instead of stopping', async () => {
    const s = setup(3 * PART);
    const r = await uploadFile({ ...s.opts, concurrency: 1, apiRetryWaitsMs: [10, 10, 10, 10], onPartSent: (p) => (s.sent.push(p), p === 1 && (fake.faults.unavailableNextApiCalls = 3)) });
    assert.equal(r.state, 'ready');
    assert.equal(fake.faults.unavailableNextApiCalls, 0, 'the 503s were met');
    assert.match(s.logs.join('\n'), /restarting: trying again for a while/);
    // Longer than the waits allow: it stops with exit 5, and the same call later resumes.
    const t = setup(2 * PART);
    fake.faults.unavailableNextApiCalls = 0;
    const failed = await uploadFile({ ...t.opts, apiRetryWaitsMs: [5], onPartSent: () => (fake.faults.unavailableNextApiCalls = 100) }).catch((e: unknown) => e);
    fake.faults.unavailableNextApiCalls = 0;
    assert.ok(failed instanceof CliError && failed.exitCode === 5, String(failed));
    const again = await uploadFile(t.opts);
    assert.equal(again.resumed, true);
  });

  it('sends again a part the API says is missing at complete, and completes', async () => {
    const s = setup(4 * PART);
    fake.faults.forgetRecordedPart = 2;
    const completes = fake.counts.completes;
    const r = await uploadFile(s.opts);
    assert.equal(r.state, 'ready');
    assert.equal(fake.counts.completes - completes, 2);
    assert.equal(r.parts_sent, 5);
    assert.deepEqual(s.sent.filter((p) => p === 2).length, 2);
  });

  it('a corrupt result is an error and the next run starts a new session', async () => {
    const s = setup(2 * PART);
    fake.faults.storedSuffix = 'x';
    const err = await uploadFile(s.opts).catch((e: unknown) => e);
    fake.faults.storedSuffix = '';
    assert.ok(err instanceof CliError);
    assert.match(err.message, /is corrupt: what object storage holds does not have the sha256/);
    const r = await uploadFile(s.opts);
    assert.equal(r.resumed, false);
    assert.equal(r.state, 'ready');
  });

  it('a file changed since the last run is a new upload', async () => {
    const s = setup(2 * PART);
    const first = await uploadFile(s.opts);
    writeFileSync(s.path, randomBytes(2 * PART));
    utimesSync(s.path, new Date(), new Date(Date.now() + 5000));
    const second = await uploadFile(s.opts);
    assert.notEqual(second.file_id, first.file_id);
    assert.equal(second.parts_sent, 2);
  });

  it('an empty file is one empty part', async () => {
    const s = setup(0);
    const r = await uploadFile(s.opts);
    assert.equal(r.state, 'ready');
    assert.equal(r.sha256, createHash('sha256').digest('hex'));
  });

  it('guesses the content type from the extension', () => {
    assert.equal(contentTypeFor('a/Photo.JPG'), 'image/jpeg');
    assert.equal(contentTypeFor('report.pdf'), 'application/pdf');
    assert.equal(contentTypeFor('noext'), 'application/octet-stream');
  });
});

describe('UploadState', () => {
  it('keeps entries per user in a 0600 file, finds them only for the same size and mtime, and drops old ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-state-'));
    try {
      const s = new UploadState(dir, 'usr_a');
      const key = { path: '/x/a.bin', size: 10, mtime_ms: 1000, api: 'http://api', conversation_id: 'c1' };
      s.save({ ...key, sha256: 'ab', content_type: 'text/plain', file_id: 'fil_1', updated_at: '' });
      assert.equal(s.find(key)?.file_id, 'fil_1');
      assert.equal(s.find({ ...key, mtime_ms: 2000 }), undefined, 'the file changed');
      assert.equal(s.find({ ...key, conversation_id: 'c2' }), undefined, 'another conversation');
      assert.equal(new UploadState(dir, 'usr_b').find(key), undefined, 'another user');
      assert.equal(statSync(uploadsFile(dir, 'usr_a')).mode & 0o777, 0o600);
      // An entry untouched for 31 days goes at the next save.
      const all = JSON.parse(readFileSync(uploadsFile(dir, 'usr_a'), 'utf8'));
      for (const e of Object.values(all) as { updated_at: string }[]) e.updated_at = new Date(Date.now() - 31 * 86_400_000).toISOString();
      writeFileSync(uploadsFile(dir, 'usr_a'), JSON.stringify(all));
      s.save({ ...key, path: '/x/b.bin', sha256: 'cd', content_type: 'text/plain', updated_at: '' });
      assert.equal(s.find(key), undefined);
      assert.equal(s.find({ ...key, path: '/x/b.bin' })?.sha256, 'cd');
      s.forget({ ...key, path: '/x/b.bin' });
      assert.equal(s.find({ ...key, path: '/x/b.bin' }), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

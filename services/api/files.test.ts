import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../core/ports/stores.ts';
import { startLocalS3, type LocalS3 } from '../lib/local-s3.ts';
import { startTestApi, type TestApi } from './test-api.ts';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Files end to end over HTTP: the real API, a real S3 protocol (s3rver through services/lib/local-s3)
// and a SQLite file, so that an API "restart" is a second API on the same store.
describe('files', () => {
  let dir: string;
  let s3: LocalS3;
  let stores: Stores;
  let api: TestApi;
  let alice: Awaited<ReturnType<TestApi['user']>>;
  let bob: Awaited<ReturnType<TestApi['user']>>;
  let eve: Awaited<ReturnType<TestApi['user']>>;
  let conversation_id: string;
  const bucket = `files-${randomBytes(4).toString('hex')}`;
  const settings = (over: Record<string, unknown> = {}) => ({ s3Endpoint: s3.endpoint, s3Bucket: bucket, filePartUrlTtlSeconds: 60, ...over });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-files-'));
    s3 = await startLocalS3({ directory: join(dir, 's3'), port: 0 });
    stores = openSqliteStores(join(dir, 'chat4all.db'));
    api = await startTestApi(settings({ fileMaxOpenUploads: 3 }), { stores });
    await api.objects.ensureBucket();
    [alice, bob, eve] = [await api.user('alice'), await api.user('bob'), await api.user('eve')];
    conversation_id = (await api.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', members: [bob.user_id] } })).body.conversation_id;
  });
  after(async () => {
    await api?.close();
    await stores?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (token: string, bytes: Buffer | { size: number; sha256?: string }, over: Record<string, unknown> = {}) =>
    api.request('POST', '/v1/files', {
      token,
      body: {
        filename: 'report.pdf',
        content_type: 'application/pdf',
        conversation_id,
        ...(Buffer.isBuffer(bytes) ? { size: bytes.length, sha256: sha(bytes) } : { sha256: '0'.repeat(64), ...bytes }),
        ...over,
      },
    });
  const urls = async (on: TestApi, fileId: string, part_numbers?: number[]): Promise<[{ part_number: number; url: string }, ...{ part_number: number; url: string }[]]> => {
    const res = await on.request('POST', `/v1/files/${fileId}/parts`, { token: alice.token, body: part_numbers ? { part_numbers } : {} });
    assert.equal(res.status, 200, res.text);
    return res.body.urls;
  };
  const put = async (url: string, body: Buffer) => {
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body), signal: AbortSignal.timeout(20_000) });
    return { status: res.status, etag: res.headers.get('etag') ?? '' };
  };
  const record = (on: TestApi, fileId: string, n: number, etag: string) => on.request('PUT', `/v1/files/${fileId}/parts/${n}`, { token: alice.token, body: { etag } });
  /** Uploads the given parts of `bytes` and records them. */
  const upload = async (on: TestApi, fileId: string, bytes: Buffer, partSize: number, only?: number[]) => {
    for (const { part_number, url } of await urls(on, fileId, only)) {
      const { status, etag } = await put(url, bytes.subarray((part_number - 1) * partSize, part_number * partSize));
      assert.equal(status, 200);
      assert.equal((await record(on, fileId, part_number, etag)).status, 200);
    }
  };
  const complete = (on: TestApi, fileId: string) => on.request('POST', `/v1/files/${fileId}/complete`, { token: alice.token });
  const uploadsOnDisk = async () => readdir(join(dir, 's3', bucket, '._S3rver_uploads')).catch(() => [] as string[]);

  it('uploads a small file, verifies it, lets members download it (ranges too) and send it; outsiders get 404', async () => {
    const bytes = randomBytes(100_000);
    const created = await start(alice.token, bytes);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(Object.keys(created.body).sort(), ['expires_at', 'file_id', 'part_count', 'part_size', 'state']);
    assert.equal(created.body.state, 'uploading');
    assert.equal(created.body.part_size, 8 * MiB);
    assert.equal(created.body.part_count, 1);
    const id = created.body.file_id as string;
    assert.match(id, /^fil_[0-9a-f]{32}$/);
    assert.equal((await api.request('GET', `/v1/files/${id}`, { token: bob.token })).status, 404, 'not visible to other members until ready');

    const [{ url }] = await urls(api, id);
    const { etag } = await put(url, bytes);
    const recorded = await record(api, id, 1, etag);
    assert.deepEqual(recorded.body, { part_number: 1, etag: etag.replaceAll('"', '') }, 'the ETag is kept without quotes');
    const view = await api.request('GET', `/v1/files/${id}`, { token: alice.token });
    assert.deepEqual(view.body.missing, []);
    assert.equal(view.body.parts.length, 1);

    const done = await complete(api, id);
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(done.body, { file_id: id, state: 'ready' });
    assert.equal((await complete(api, id)).body.state, 'ready', 'completing again answers the state');

    const seen = await api.request('GET', `/v1/files/${id}`, { token: bob.token });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.state, 'ready');
    assert.equal(seen.body.sha256, sha(bytes));

    const redirect = await fetch(`${api.url}/v1/files/${id}/download`, { headers: { authorization: `Bearer ${bob.token}` }, redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = redirect.headers.get('location')!;
    assert.ok(location.startsWith(s3.endpoint), location);
    const whole = await fetch(location);
    assert.equal(sha(Buffer.from(await whole.arrayBuffer())), sha(bytes));
    assert.match(whole.headers.get('content-disposition') ?? '', /filename="report.pdf"/);
    const json = await api.request('GET', `/v1/files/${id}/download?redirect=false`, { token: alice.token });
    assert.equal(json.status, 200);
    const ranged = await fetch(json.body.url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(10, 20));

    assert.equal((await api.request('GET', `/v1/files/${id}/download`, { token: eve.token })).status, 404, 'a non-member cannot download');
    assert.equal((await api.request('GET', `/v1/files/${id}`, { token: eve.token })).status, 404);

    const sent = await api.request('POST', '/v1/messages', { token: alice.token, body: { conversation_id, payload: { type: 'file', file_id: id, caption: 'the report' } } });
    assert.equal(sent.status, 202, sent.text);

    const metrics = (await api.request('GET', '/metrics')).text;
    assert.match(metrics, /^files_uploaded_total\{[^}]*\} [1-9]/m);
    assert.match(metrics, /^file_upload_bytes_total\{[^}]*\} [1-9]\d{5}/m);
    assert.match(metrics, /^file_upload_sessions_total\{[^}]*state="ready"[^}]*\} [1-9]/m);
    assert.match(metrics, /^file_verification_duration_seconds_count\{[^}]*result="ready"[^}]*\} [1-9]/m);
  });

  it('resumes after an API restart: only the missing parts are asked for and sent', async () => {
    const bytes = randomBytes(8 * MiB + 1234);
    const id = (await start(alice.token, bytes)).body.file_id as string;
    await upload(api, id, bytes, 8 * MiB, [1]);

    // Another API process on the same store and object store: nothing of the session was in the first one.
    const again = await startTestApi(settings(), { stores });
    try {
      const view = await again.request('GET', `/v1/files/${id}`, { token: alice.token });
      assert.deepEqual(view.body.missing, [2]);
      const asked = await urls(again, id);
      assert.deepEqual(asked.map((u) => u.part_number), [2], 'fresh URLs for the missing part only');
      await upload(again, id, bytes, 8 * MiB);
      const done = await complete(again, id);
      assert.deepEqual(done.body, { file_id: id, state: 'ready' });
    } finally {
      await again.close();
    }
  });

  it('answers 409 parts_missing with the missing parts', async () => {
    const bytes = randomBytes(8 * MiB + 10);
    const id = (await start(alice.token, bytes)).body.file_id as string;
    await upload(api, id, bytes, 8 * MiB, [2]);
    const res = await complete(api, id);
    assert.equal(res.status, 409);
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    assert.match(res.body.type, /parts-missing$/);
    assert.deepEqual(res.body.missing, [1]);
    assert.equal((await api.request('DELETE', `/v1/files/${id}`, { token: alice.token })).status, 204, 'the uploader aborts it');
  });

  it('renews an expired part URL: the old one is refused, a fresh one works', async () => {
    const short = await startTestApi(settings({ filePartUrlTtlSeconds: 1 }), { stores });
    try {
      const bytes = randomBytes(5000);
      const id = (await start(alice.token, bytes)).body.file_id as string;
      const [{ url }] = await urls(short, id);
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await put(url, bytes)).status, 403, 'S3 refuses the expired URL');
      await upload(short, id, bytes, 8 * MiB);
      assert.equal((await complete(short, id)).body.state, 'ready');
    } finally {
      await short.close();
    }
  });

  it('refuses a wrong part ETag at completion with 409 part_invalid, and completes once it is fixed', async () => {
    const bytes = randomBytes(3000);
    const id = (await start(alice.token, bytes)).body.file_id as string;
    const [{ url }] = await urls(api, id);
    const { etag } = await put(url, bytes);
    await record(api, id, 1, `"${'0'.repeat(32)}"`);
    const refused = await complete(api, id);
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.type, /part-invalid$/);
    assert.equal((await api.request('GET', `/v1/files/${id}`, { token: alice.token })).body.state, 'uploading', 'the session stays open');
    await record(api, id, 1, etag);
    assert.deepEqual((await complete(api, id)).body, { file_id: id, state: 'ready' });
  });

  it('marks a file whose bytes do not match its sha256 corrupt: it cannot be sent or downloaded', async () => {
    const bytes = randomBytes(4000);
    const id = (await start(alice.token, bytes, { sha256: sha(randomBytes(10)) })).body.file_id as string;
    await upload(api, id, bytes, 8 * MiB);
    const res = await complete(api, id);
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'corrupt');
    const send = await api.request('POST', '/v1/messages', { token: alice.token, body: { conversation_id, payload: { type: 'file', file_id: id } } });
    assert.equal(send.status, 422);
    assert.match(send.body.type, /file-not-ready$/);
    assert.equal((await api.request('GET', `/v1/files/${id}/download`, { token: alice.token })).status, 404);
    assert.match((await api.request('GET', '/metrics')).text, /^file_verification_failures_total\{[^}]*reason="sha256_mismatch"[^}]*\} [1-9]/m);
  });

  it('takes 2 GiB exactly and refuses one byte more with 413 before anything is created; checks type and membership', async () => {
    const before = await uploadsOnDisk();
    const openBefore = await stores.files.countOpenUploads(bob.user_id);
    const tooBig = await start(bob.token, { size: 2 ** 31 + 1 });
    assert.equal(tooBig.status, 413, tooBig.text);
    assert.match(tooBig.body.type, /file-too-large$/);
    assert.deepEqual(await uploadsOnDisk(), before, 'no S3 upload was started');
    assert.equal(await stores.files.countOpenUploads(bob.user_id), openBefore, 'no session was created');
    const max = await start(bob.token, { size: 2 ** 31 });
    assert.equal(max.status, 201, max.text);
    assert.equal(max.body.part_count, 256);
    assert.equal((await api.request('DELETE', `/v1/files/${max.body.file_id}`, { token: bob.token })).status, 204);

    assert.equal((await start(bob.token, { size: 10 }, { content_type: 'application/x-msdownload' })).status, 415);
    assert.equal((await start(eve.token, { size: 10 })).status, 404, 'not a member of the conversation');
    assert.equal((await start(bob.token, { size: 10 }, { sha256: 'xyz' })).status, 400);
  });

  it('refuses an open session over the quota with 429', async () => {
    const carol = await api.user('carol');
    const cid = (await api.request('POST', '/v1/conversations', { token: carol.token, body: { type: 'private', members: [bob.user_id] } })).body.conversation_id;
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await start(carol.token, { size: 10 }, { conversation_id: cid }));
    assert.deepEqual(open.map((r) => r.status), [201, 201, 201]);
    const refused = await start(carol.token, { size: 10 }, { conversation_id: cid });
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.body.type, /too-many-uploads$/);
    await api.request('DELETE', `/v1/files/${open[0]!.body.file_id}`, { token: carol.token });
    assert.equal((await start(carol.token, { size: 10 }, { conversation_id: cid })).status, 201, 'an aborted session frees its place');
  });

  it('expires an abandoned session and removes its parts from the object store', async () => {
    // Its own API, so that moving its clock leaves the others alone.
    const ttl = await startTestApi(settings({ fileUploadTtlSeconds: 60 }), { stores });
    try {
      const bytes = randomBytes(2000);
      const id = (await start(alice.token, bytes)).body.file_id as string;
      const [{ url }] = await urls(ttl, id);
      await record(ttl, id, 1, (await put(url, bytes)).etag);
      const uploadId = (await stores.files.getFile(id))!.upload_id;
      assert.ok((await uploadsOnDisk()).includes(uploadId));
      // Sessions the main API opened expire in 24 h: only this one is due after two minutes.
      const mine = (await start(alice.token, bytes)).body.file_id as string;
      await ttl.request('DELETE', `/v1/files/${mine}`, { token: alice.token });
      const fresh = (await ttl.request('POST', '/v1/files', { token: alice.token, body: { filename: 'a.txt', content_type: 'text/plain', conversation_id, size: 10, sha256: '0'.repeat(64) } })).body.file_id as string;
      const job = ttl.fileJob();
      assert.equal((await job.tick()).expired, 0, 'nothing is due yet');
      ttl.advanceClock(120_000);
      const pass = await job.tick();
      assert.ok(pass.expired >= 1);
      assert.equal((await stores.files.getFile(fresh))!.state, 'expired');
      assert.ok(!(await uploadsOnDisk()).includes((await stores.files.getFile(fresh))!.upload_id), 'the parts are gone');
      assert.equal((await stores.files.getFile(id))!.state, 'uploading', 'a session of 24 h is not due');
      assert.equal((await complete(ttl, fresh)).status, 409);
      assert.match((await ttl.request('GET', '/metrics')).text, /^file_upload_sessions_total\{[^}]*state="expired"[^}]*\} [1-9]/m);
    } finally {
      await ttl.close();
    }
  });

  it('answers 202 verifying when verification takes longer than the wait, and the file job resumes a verification a restart left', async () => {
    const bytes = randomBytes(6000);
    const quick = await startTestApi(settings({ fileVerifyWaitMs: 0 }), { stores });
    try {
      const id = (await start(alice.token, bytes)).body.file_id as string;
      await upload(quick, id, bytes, 8 * MiB);
      const res = await complete(quick, id);
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, { file_id: id, state: 'verifying' });
      for (let i = 0; i < 50 && (await stores.files.getFile(id))!.state === 'verifying'; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await quick.request('GET', `/v1/files/${id}`, { token: alice.token })).body.state, 'ready');

      // An API that stopped between completing and verifying: the object is whole, the file `verifying`.
      const left = (await start(alice.token, bytes)).body.file_id as string;
      await upload(quick, left, bytes, 8 * MiB);
      const file = (await stores.files.getFile(left))!;
      await quick.objects.completeMultipartUpload(file.object_key, file.upload_id, await stores.files.listParts(left));
      await stores.files.transition(left, 'uploading', 'verifying', { completed_at: new Date(Date.now() - 3_600_000).toISOString() });
      const pass = await quick.fileJob().tick();
      assert.equal(pass.resumed, 1);
      assert.equal((await stores.files.getFile(left))!.state, 'ready');
    } finally {
      await quick.close();
    }
  });
});

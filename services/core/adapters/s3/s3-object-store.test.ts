import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { LOCAL_S3_KEYS, startLocalS3, type LocalS3 } from '../../../lib/local-s3.ts';
import { ObjectStoreError } from '../../ports/object-store.ts';
import { S3ObjectStore, STREAM_PART_SIZE } from './s3-object-store.ts';

describe('S3ObjectStore against a local s3rver', () => {
  let dir: string;
  let s3: LocalS3;
  let store: S3ObjectStore;
  const bucket = `t-${randomBytes(4).toString('hex')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat4all-s3-'));
    s3 = await startLocalS3({ directory: dir, port: 0 });
    store = new S3ObjectStore({ endpoint: s3.endpoint, bucket, region: 'us-east-1', ...LOCAL_S3_KEYS });
    await store.ensureBucket();
  });
  after(async () => {
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const putPart = async (url: string, body: Buffer) => {
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body), signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200, await res.text());
    return res.headers.get('etag')!;
  };

  it('makes the bucket once: a second ensureBucket is harmless', async () => {
    await store.ensureBucket();
  });

  it('uploads in parts to presigned URLs, refuses a wrong ETag, completes, stats, streams and serves ranges', async () => {
    const one = randomBytes(5 * 1024 * 1024);
    const two = randomBytes(1000);
    const key = `files/${randomBytes(6).toString('hex')}`;
    const uploadId = await store.createMultipartUpload(key, 'application/pdf');
    const e1 = await putPart(await store.presignUploadPart(key, uploadId, 1, 60), one);
    const e2 = await putPart(await store.presignUploadPart(key, uploadId, 2, 60), two);
    assert.match(e1, /^"[0-9a-f]{32}"$/, 'S3 answers the part ETag quoted');

    await assert.rejects(
      store.completeMultipartUpload(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 2, etag: 'f'.repeat(32) }]),
      (err: unknown) => err instanceof ObjectStoreError && err.code === 'part_invalid',
    );
    await assert.rejects(
      store.completeMultipartUpload(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 3, etag: e2 }]),
      (err: unknown) => err instanceof ObjectStoreError && err.code === 'part_invalid',
      'a part that was never sent',
    );
    // Unquoted ETags are taken too.
    await store.completeMultipartUpload(key, uploadId, [{ part_number: 2, etag: e2.replaceAll('"', '') }, { part_number: 1, etag: e1 }]);
    await assert.rejects(
      store.completeMultipartUpload(key, uploadId, [{ part_number: 1, etag: e1 }]),
      (err: unknown) => err instanceof ObjectStoreError && err.code === 'upload_not_found',
    );

    const whole = Buffer.concat([one, two]);
    const stat = await store.statObject(key);
    assert.equal(stat?.size, whole.length);

    const hash = createHash('sha256');
    for await (const chunk of await store.getObject(key)) hash.update(chunk as Buffer);
    assert.equal(hash.digest('hex'), createHash('sha256').update(whole).digest('hex'));

    const url = await store.presignGet(key, 60, { filename: 'report é.pdf', contentType: 'application/pdf' });
    const ranged = await fetch(url, { headers: { Range: 'bytes=100-199' }, signal: AbortSignal.timeout(10_000) });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), whole.subarray(100, 200));
    assert.equal(ranged.headers.get('content-type'), 'application/pdf');
    assert.match(ranged.headers.get('content-disposition') ?? '', /attachment; filename="report _.pdf"; filename\*=UTF-8''report%20%C3%A9.pdf/);

    const expired = await store.presignGet(key, 1);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await fetch(expired, { signal: AbortSignal.timeout(10_000) })).status, 403, 'an expired URL is refused');

    await store.removeObject(key);
    assert.equal(await store.statObject(key), undefined);
    await store.removeObject(key);
  });

  it('aborts an upload: its parts are gone from disk, and aborting again is harmless', async () => {
    const key = `files/${randomBytes(6).toString('hex')}`;
    const uploadId = await store.createMultipartUpload(key, 'text/plain');
    await putPart(await store.presignUploadPart(key, uploadId, 1, 60), randomBytes(2048));
    const uploads = join(dir, bucket, '._S3rver_uploads');
    assert.ok((await readdir(uploads)).includes(uploadId));
    await store.abortMultipartUpload(key, uploadId);
    assert.ok(!(await readdir(uploads)).includes(uploadId));
    await store.abortMultipartUpload(key, uploadId);
    await assert.rejects(
      store.completeMultipartUpload(key, uploadId, [{ part_number: 1, etag: 'x' }]),
      (err: unknown) => err instanceof ObjectStoreError && err.code === 'upload_not_found',
    );
  });

  it('puts a stream of known size in one PUT and of unknown size in parts, a failing stream leaving nothing', async () => {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const stored = async (key: string) => {
      const hash = createHash('sha256');
      for await (const chunk of await store.getObject(key)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    };
    const small = randomBytes(70_000);
    const known = `inbound/${randomBytes(6).toString('hex')}`;
    await store.putObject(known, Readable.from([small.subarray(0, 1000), small.subarray(1000)]), small.length, 'image/jpeg');
    assert.equal(await stored(known), sha(small));
    // Over one 8 MiB part, size unknown: two parts, completed.
    const big = randomBytes(STREAM_PART_SIZE + 12_345);
    const unknown = `inbound/${randomBytes(6).toString('hex')}`;
    await store.putObject(unknown, Readable.from((function* () { for (let i = 0; i < big.length; i += 1 << 20) yield big.subarray(i, i + (1 << 20)); })()), undefined, 'video/mp4');
    assert.equal((await store.statObject(unknown))?.size, big.length);
    assert.equal(await stored(unknown), sha(big));

    const failing = `inbound/${randomBytes(6).toString('hex')}`;
    const broken = new Readable({ read() {} });
    broken.push(randomBytes(1000));
    setTimeout(() => broken.destroy(new Error('provider hung up')), 20);
    await assert.rejects(store.putObject(failing, broken, 5000, 'image/png'), /provider hung up/);
    assert.equal(await store.statObject(failing), undefined);
  });

  it('says unavailable (retriable) when the store cannot be reached', async () => {
    const down = new S3ObjectStore({ endpoint: 'http://127.0.0.1:9', bucket, region: 'us-east-1', ...LOCAL_S3_KEYS });
    await assert.rejects(down.statObject('x'), (err: unknown) => err instanceof ObjectStoreError && err.code === 'unavailable' && err.retriable);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CapReached } from '../../services/core/cap-reached.ts';
import type { FileRecord } from '../../services/core/ports/file-store.ts';
import { eachTestStores, id, later, now, type StoresFactory } from './store-fixtures.ts';

/** A new upload session of `uploader` (a fresh user unless given). */
function newFile(over: Partial<FileRecord> = {}): FileRecord {
  const file_id = `fil_${id().replaceAll('-', '')}`;
  return {
    file_id,
    uploader_id: id(),
    conversation_id: id(),
    filename: 'report.pdf',
    content_type: 'application/pdf',
    size: 2 * 1024 ** 3,
    sha256: 'a'.repeat(64),
    part_size: 8 * 1024 * 1024,
    part_count: 256,
    object_key: `files/${file_id}`,
    upload_id: id(),
    state: 'uploading',
    created_at: now(),
    expires_at: later(3_600_000),
    ...over,
  };
}

/** The FileStore contract: sessions, their part manifest, conditional states, the open-session quota. */
export function fileStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: files`, () => {
    const ctx = eachTestStores(make);

    it('keeps a session as created (a 2 GiB size too) and answers null for an unknown id', async () => {
      const { files } = ctx.stores;
      const file = newFile();
      await files.createFile(file);
      assert.deepEqual(await files.getFile(file.file_id), file);
      assert.equal(await files.getFile(`fil_${id()}`), null);
    });

    it('records parts idempotently, the last report of a part winning, in part order', async () => {
      const { files } = ctx.stores;
      const file = newFile();
      await files.createFile(file);
      assert.equal(await files.recordPart(file.file_id, { part_number: 3, etag: 'c3' }), true);
      assert.equal(await files.recordPart(file.file_id, { part_number: 1, etag: 'old', size: 10 }), true);
      assert.equal(await files.recordPart(file.file_id, { part_number: 1, etag: 'a1', size: 8 }), true);
      assert.equal(await files.recordPart(file.file_id, { part_number: 3, etag: 'c3' }), true);
      assert.deepEqual(await files.listParts(file.file_id), [
        { part_number: 1, etag: 'a1', size: 8 },
        { part_number: 3, etag: 'c3' },
      ]);
      assert.deepEqual(await files.listParts(`fil_${id()}`), []);
    });

    it('moves states only from the state it expects: uploading → verifying → ready, once', async () => {
      const { files } = ctx.stores;
      const file = newFile();
      await files.createFile(file);
      const completed_at = now();
      const verifying = await files.transition(file.file_id, 'uploading', 'verifying', { completed_at });
      assert.equal(verifying?.state, 'verifying');
      assert.equal(verifying?.completed_at, completed_at);
      assert.equal(await files.transition(file.file_id, 'uploading', 'verifying'), null, 'a second completion loses');
      assert.equal(await files.recordPart(file.file_id, { part_number: 1, etag: 'late' }), false, 'no part after completion');
      assert.deepEqual((await files.listVerifying(1000)).filter((f) => f.file_id === file.file_id).map((f) => f.state), ['verifying']);
      const verified_at = now();
      const ready = await files.transition(file.file_id, 'verifying', 'ready', { verified_at });
      assert.equal(ready?.state, 'ready');
      assert.equal((await files.getFile(file.file_id))?.verified_at, verified_at);
      assert.equal((await files.getFile(file.file_id))?.completed_at, completed_at, 'fields set before are kept');
      assert.equal(await files.transition(file.file_id, 'verifying', 'corrupt'), null);
      assert.ok(!(await files.listVerifying(1000)).some((f) => f.file_id === file.file_id));
      assert.equal(await files.transition(`fil_${id()}`, 'uploading', 'verifying'), null);
    });

    it('lets exactly one of parallel completions win', async () => {
      const { files } = ctx.stores;
      const file = newFile();
      await files.createFile(file);
      const results = await Promise.all(Array.from({ length: 5 }, () => files.transition(file.file_id, 'uploading', 'verifying', { completed_at: now() })));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('lists open sessions past their expiry only, and expiring takes them off the list', async () => {
      const { files } = ctx.stores;
      const past = newFile({ expires_at: new Date(Date.now() - 60_000).toISOString() });
      const future = newFile();
      const done = newFile({ expires_at: new Date(Date.now() - 60_000).toISOString() });
      for (const f of [past, future, done]) await files.createFile(f);
      await files.transition(done.file_id, 'uploading', 'verifying');
      const expired = (await files.listExpiredUploads(now(), 1000)).map((f) => f.file_id);
      assert.ok(expired.includes(past.file_id));
      assert.ok(!expired.includes(future.file_id), 'not yet expired');
      assert.ok(!expired.includes(done.file_id), 'a completed upload never expires');
      assert.equal((await files.transition(past.file_id, 'uploading', 'expired'))?.state, 'expired');
      assert.ok(!(await files.listExpiredUploads(now(), 1000)).some((f) => f.file_id === past.file_id));
    });

    it('counts open sessions per user and refuses one over the cap, even in parallel; a finished session frees its place', async () => {
      const { files } = ctx.stores;
      const uploader_id = id();
      const first = newFile({ uploader_id });
      await files.createFile(first, { max: 3 });
      await files.createFile(newFile(), { max: 3 });
      assert.equal(await files.countOpenUploads(uploader_id), 1);
      const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => files.createFile(newFile({ uploader_id }), { max: 3 })));
      assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 2);
      const refused = attempts.find((a) => a.status === 'rejected') as PromiseRejectedResult;
      assert.ok(refused.reason instanceof CapReached);
      assert.equal(refused.reason.code, 'too_many_uploads');
      assert.equal(refused.reason.status, 429);
      assert.equal(await files.countOpenUploads(uploader_id), 3);
      await files.transition(first.file_id, 'uploading', 'verifying');
      assert.equal(await files.countOpenUploads(uploader_id), 2);
      await files.createFile(newFile({ uploader_id }), { max: 3 });
      assert.equal(await files.countOpenUploads(uploader_id), 3);
    });
  });
}

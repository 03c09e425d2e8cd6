import { createHash, randomBytes } from 'node:crypto';
import type { FileRecord, FileStore } from '../../services/core/ports/file-store.ts';
import type { ObjectStore } from '../../services/core/ports/object-store.ts';

/** The bytes of a test file: `size` bytes where byte i is `i % 251` (the same as the simulator's test media). */
export function testFileBytes(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

/**
 * Puts a file in the object store and its `ready` record in the file store, through the ports as
 * the upload protocol does (one multipart part, complete, then `uploading` → `verifying` →
 * `ready`), without the API. `withoutObject` records a ready file whose bytes are not there (a
 * link that does not resolve).
 */
export async function putReadyFile(
  ports: { files: FileStore; objects: ObjectStore },
  file: { conversationId: string; uploaderId: string; filename: string; contentType: string; size: number; withoutObject?: boolean },
): Promise<FileRecord & { bytes: Buffer }> {
  const file_id = `fil_${randomBytes(12).toString('hex')}`;
  const object_key = `files/${file_id}`;
  const bytes = testFileBytes(file.size);
  const upload_id = await ports.objects.createMultipartUpload(object_key, file.contentType);
  if (!file.withoutObject) {
    const url = await ports.objects.presignUploadPart(object_key, upload_id, 1, 300);
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes), signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`part upload answered ${res.status}: ${await res.text()}`);
    await ports.objects.completeMultipartUpload(object_key, upload_id, [{ part_number: 1, etag: res.headers.get('etag')! }]);
  }
  const now = new Date().toISOString();
  const record: FileRecord = {
    file_id,
    uploader_id: file.uploaderId,
    conversation_id: file.conversationId,
    filename: file.filename,
    content_type: file.contentType,
    size: file.size,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    part_size: Math.max(file.size, 1),
    part_count: 1,
    object_key,
    upload_id,
    state: 'uploading',
    created_at: now,
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  };
  await ports.files.createFile(record);
  await ports.files.transition(file_id, 'uploading', 'verifying', { completed_at: now });
  const ready = await ports.files.transition(file_id, 'verifying', 'ready', { verified_at: now });
  if (!ready) throw new Error(`file ${file_id} did not become ready`);
  return { ...ready, bytes };
}

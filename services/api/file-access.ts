import type { FileRecord } from '../core/domain/file.ts';
import { notFound } from '../core/errors.ts';
import { isoAt } from '../core/ports/clock.ts';
import type { FileDeps } from './file-deps.ts';
import { missingParts } from './file-uploads.ts';

/**
 * Who sees a file: its uploader always; the other members of its conversation once it is
 * `ready`; nobody else (404, as if there were no such file).
 */
async function visibleFile(deps: Pick<FileDeps, 'files' | 'conversations'>, me: string, fileId: string): Promise<FileRecord> {
  const file = await deps.files.getFile(fileId);
  if (!file) throw notFound('file');
  if (file.uploader_id === me) return file;
  if (file.state !== 'ready') throw notFound('file');
  const conversation = await deps.conversations.getConversation(file.conversation_id);
  if (!conversation?.members.includes(me)) throw notFound('file');
  return file;
}

/** A file as `GET /v1/files/{id}` shows it: the record, with its parts and the missing ones for the uploader. */
export async function fileView(deps: Pick<FileDeps, 'files' | 'conversations'>, me: string, fileId: string) {
  const file = await visibleFile(deps, me, fileId);
  const own = file.uploader_id === me;
  const parts = own && file.state === 'uploading' ? await deps.files.listParts(fileId) : [];
  const { object_key: _k, upload_id: _u, ...shown } = file;
  return {
    ...shown,
    parts: parts.map((p) => ({ part_number: p.part_number, etag: p.etag })),
    missing: own && file.state === 'uploading' ? missingParts(file, parts) : [],
  };
}

/**
 * A short-lived presigned GET of a `ready` file for a member of its conversation (the uploader
 * too, once it is ready); anyone else, or a file not ready, gets 404.
 */
export async function downloadUrl(deps: Pick<FileDeps, 'files' | 'conversations' | 'objects' | 'clock' | 'settings'>, me: string, fileId: string) {
  const file = await deps.files.getFile(fileId);
  if (!file || file.state !== 'ready') throw notFound('file');
  const conversation = await deps.conversations.getConversation(file.conversation_id);
  if (!conversation?.members.includes(me)) throw notFound('file');
  const ttl = deps.settings.downloadUrlTtlSeconds;
  const url = await deps.objects.presignGet(file.object_key, ttl, { filename: file.filename, contentType: file.content_type });
  return { url, expires_at: isoAt(deps.clock.now() + ttl * 1000) };
}

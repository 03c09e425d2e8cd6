import { randomBytes } from 'node:crypto';
import { MAX_FILE_SIZE, type FilePart, type FileRecord } from '../core/domain/file.ts';
import { tooManyUploads } from '../core/cap-reached.ts';
import { AppError, notFound, unavailable } from '../core/errors.ts';
import { isoAt } from '../core/ports/clock.ts';
import { normalizeEtag } from '../core/ports/object-store.ts';
import type { FileDeps } from './file-deps.ts';
import type { CreateFileRequest } from './file-schemas.ts';

const MiB = 1024 * 1024;
/** S3 allows 10,000 parts per upload. */
export const MAX_PARTS = 10_000;
/** Most part URLs one call hands out. */
export const MAX_URLS_PER_CALL = 1000;

/**
 * The part size of a file: max(8 MiB, ceil(size / 10,000) rounded up to a whole MiB). That is 8 MiB
 * for every size the platform takes (a 2 GiB file has 256 parts); the rule keeps any size within
 * S3's 10,000 parts, and every part but the last above S3's 5 MiB minimum.
 */
export function partSizeFor(size: number): number {
  return Math.max(8 * MiB, Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB);
}

/** Whether a content type (parameters ignored) is on the allow-list (`type/subtype` or `type/*`). */
export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  const family = `${base.split('/')[0]}/*`;
  return allowed.includes(base) || allowed.includes(family);
}

/** The part numbers of a file not in `parts`, ascending. */
export function missingParts(file: Pick<FileRecord, 'part_count'>, parts: readonly FilePart[]): number[] {
  const have = new Set(parts.map((p) => p.part_number));
  const missing: number[] = [];
  for (let n = 1; n <= file.part_count; n++) if (!have.has(n)) missing.push(n);
  return missing;
}

/** The file if `me` uploaded it; anyone else (and a file that does not exist) gets 404. */
export async function ownFile(deps: Pick<FileDeps, 'files'>, me: string, fileId: string): Promise<FileRecord> {
  const file = await deps.files.getFile(fileId);
  if (!file || file.uploader_id !== me) throw notFound('file');
  return file;
}

/** 409: the session of the file is closed (completed, or expired). */
export const notUploading = (file: FileRecord) =>
  new AppError('file_not_uploading', `file ${file.file_id} is ${file.state}: its upload session is closed`, { status: 409, extensions: { state: file.state } });

/**
 * Opens an upload session: checks the size (413 over 2 GiB, before anything is created), the
 * content type (415), membership of the conversation (404) and the open-session quota (429),
 * then starts the S3 multipart upload and saves the session.
 */
export async function startUpload(deps: FileDeps, me: string, input: CreateFileRequest): Promise<FileRecord> {
  if (input.size > MAX_FILE_SIZE) {
    throw new AppError('file_too_large', `size ${input.size} is over the limit of ${MAX_FILE_SIZE} bytes (2 GiB)`, { status: 413, extensions: { max_size: MAX_FILE_SIZE } });
  }
  if (!contentTypeAllowed(input.content_type, deps.settings.contentTypes)) {
    throw new AppError('unsupported_file_type', `content type ${input.content_type} is not allowed (FILE_CONTENT_TYPES: ${deps.settings.contentTypes.join(', ')})`, { status: 415 });
  }
  const conversation = await deps.conversations.getConversation(input.conversation_id);
  if (!conversation || !conversation.members.includes(me)) throw notFound('conversation');
  const max = deps.settings.maxOpenUploads;
  // A cheap look first, so a user at the quota never starts an S3 upload; the store decides for good.
  const open = await deps.files.countOpenUploads(me);
  if (open >= max) throw tooManyUploads(me, open, max);

  const file_id = `fil_${randomBytes(16).toString('hex')}`;
  const object_key = `files/${file_id}`;
  const part_size = partSizeFor(input.size);
  const now = deps.clock.now();
  const upload_id = await deps.objects.createMultipartUpload(object_key, input.content_type);
  const file: FileRecord = {
    file_id,
    uploader_id: me,
    conversation_id: input.conversation_id,
    filename: input.filename,
    content_type: input.content_type,
    size: input.size,
    sha256: input.sha256.toLowerCase(),
    part_size,
    part_count: Math.max(1, Math.ceil(input.size / part_size)),
    object_key,
    upload_id,
    state: 'uploading',
    created_at: isoAt(now),
    expires_at: isoAt(now + deps.settings.uploadTtlSeconds * 1000),
  };
  try {
    await deps.files.createFile(file, { max });
  } catch (err) {
    // Refused (the quota, decided by the store) or failed: the S3 upload has no session, drop it.
    await deps.objects.abortMultipartUpload(object_key, upload_id).catch(() => undefined);
    throw err;
  }
  deps.metrics.sessions.inc({ state: 'uploading' });
  return file;
}

/**
 * Fresh presigned PUT URLs for parts of an open session: the ones asked for, or every part not
 * recorded yet (at most 1,000 per call). Asking again is how an expired URL is renewed.
 */
export async function partUrls(deps: FileDeps, me: string, fileId: string, asked?: number[]) {
  const file = await ownFile(deps, me, fileId);
  if (file.state !== 'uploading') throw notUploading(file);
  const wanted = asked ? [...new Set(asked)].sort((a, b) => a - b) : missingParts(file, await deps.files.listParts(fileId)).slice(0, MAX_URLS_PER_CALL);
  const beyond = wanted.find((n) => n > file.part_count);
  if (beyond !== undefined) {
    throw new AppError('validation_failed', `part ${beyond} is beyond the file's ${file.part_count} parts`, { status: 400, errors: [{ field: 'part_numbers', message: `must be at most ${file.part_count}` }] });
  }
  const ttl = deps.settings.partUrlTtlSeconds;
  const expires_at = isoAt(deps.clock.now() + ttl * 1000);
  const urls = await Promise.all(
    wanted.map(async (part_number) => ({ part_number, url: await deps.objects.presignUploadPart(file.object_key, file.upload_id, part_number, ttl), expires_at })),
  );
  return { urls };
}

/** Records the ETag S3 answered for a part (again: the last report wins). */
export async function recordPart(deps: FileDeps, me: string, fileId: string, partNumber: number, etag: string) {
  const file = await ownFile(deps, me, fileId);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > file.part_count) {
    throw new AppError('validation_failed', `part ${partNumber} is not one of the file's parts 1..${file.part_count}`, { status: 400, errors: [{ field: 'part_number', message: `must be 1 to ${file.part_count}` }] });
  }
  const clean = normalizeEtag(etag);
  if (!(await deps.files.recordPart(fileId, { part_number: partNumber, etag: clean }))) throw notUploading((await deps.files.getFile(fileId)) ?? file);
  return { part_number: partNumber, etag: clean };
}

/** The uploader ends an open session: its parts are removed and it expires now. */
export async function abortUpload(deps: FileDeps, me: string, fileId: string): Promise<void> {
  const file = await ownFile(deps, me, fileId);
  if (file.state !== 'uploading') throw notUploading(file);
  await expireSession(deps, file);
}

/**
 * Ends an open session: aborts the S3 upload first (so a failure leaves the session open, and the
 * file job tries again), then moves it to `expired` unless it moved on meanwhile. Returns whether
 * this call expired it.
 */
export async function expireSession(deps: Pick<FileDeps, 'files' | 'objects' | 'metrics'>, file: FileRecord): Promise<boolean> {
  try {
    await deps.objects.abortMultipartUpload(file.object_key, file.upload_id);
  } catch (err) {
    throw unavailable('the object store could not abort the upload; try again', err);
  }
  const moved = await deps.files.transition(file.file_id, 'uploading', 'expired');
  if (!moved) {
    const now = await deps.files.getFile(file.file_id);
    if (now && now.state !== 'uploading' && now.state !== 'expired') throw notUploading(now);
    return false;
  }
  deps.metrics.sessions.inc({ state: 'expired' });
  return true;
}

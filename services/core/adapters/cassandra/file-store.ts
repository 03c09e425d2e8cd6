import { tooManyUploads } from '../../cap-reached.ts';
import type { FilePart, FileRecord, FileState, FileStore, TransitionFields } from '../../ports/file-store.ts';
import type { CapScope } from './cap-slots.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { isoKey } from './keys.ts';
import type { CqlRow } from './session.ts';
import { CQL } from './statements.ts';
import { num, str } from './values.ts';

/**
 * Files on Cassandra: the `files` row (every write a lightweight transaction, so each change of
 * state is decided once), the part manifest (`file_parts`, one partition per file), the user's
 * open sessions (`open_uploads`, kept under the quota by cap slots), and two queues: open sessions
 * by expiry (`file-open`) and files being verified (`file-verifying`). Queue and index entries are
 * hints: a reader checks the file's state and removes those that no longer hold.
 */
export class CassandraFileStore implements FileStore {
  constructor(private readonly ctx: CassandraContext) {}

  async createFile(file: FileRecord, cap?: { max: number }): Promise<FileRecord> {
    const { db, caps, queues } = this.ctx;
    const scope = cap ? this.uploadScope(file.uploader_id) : null;
    if (scope) await caps.claim(scope, file.file_id, cap!.max);
    try {
      const applied = (
        await db.run(CQL.insertFile, [
          file.file_id, file.uploader_id, file.conversation_id, file.filename, file.content_type, file.size, file.sha256,
          file.part_size, file.part_count, file.object_key, file.upload_id, file.state, file.created_at, file.expires_at,
          file.completed_at ?? null, file.verified_at ?? null,
        ])
      ).wasApplied();
      if (!applied) throw new Error(`file ${file.file_id} exists already`);
    } catch (err) {
      if (scope) await caps.release(scope, file.file_id).catch(() => undefined);
      throw err;
    }
    if (file.state === 'uploading') {
      await db.run(CQL.insertOpenUpload, [file.uploader_id, file.file_id]);
      await queues.add('file-open', isoKey(file.expires_at), file.file_id);
    }
    return { ...file };
  }

  /** The slots of a user's open sessions (item: the file id). */
  private uploadScope(uploaderId: string): CapScope {
    return {
      scope: 'uploads',
      owner: uploaderId,
      live: async () => (await this.openUploads(uploaderId)).map((f) => f.file_id),
      refuse: (count, max) => tooManyUploads(uploaderId, count, max),
    };
  }

  async getFile(fileId: string): Promise<FileRecord | null> {
    return this.readFile(fileId, false);
  }

  /**
   * The file row; `serial` reads at LOCAL_SERIAL (a state change in flight is finished first), for
   * the reads a conditional write follows. Plain reads (the send path, the connectors) take LOCAL_QUORUM.
   */
  private async readFile(fileId: string, serial: boolean): Promise<FileRecord | null> {
    const r = (await this.ctx.db.run(CQL.file, [fileId], { serial })).rows[0];
    return r ? toFile(r) : null;
  }

  async listParts(fileId: string): Promise<FilePart[]> {
    const rows = await this.ctx.db.rows(CQL.fileParts, [fileId]);
    return rows.map(toPart).sort((a, b) => a.part_number - b.part_number);
  }

  async recordPart(fileId: string, part: FilePart): Promise<boolean> {
    const file = await this.readFile(fileId, true);
    if (file?.state !== 'uploading') return false;
    await this.ctx.db.run(CQL.insertFilePart, [fileId, part.part_number, part.etag, part.size ?? null]);
    return true;
  }

  async transition(fileId: string, from: FileState, to: FileState, fields: TransitionFields = {}): Promise<FileRecord | null> {
    const { db, caps, queues } = this.ctx;
    const file = await this.readFile(fileId, true);
    if (!file || file.state !== from) return null;
    const next: FileRecord = { ...file, ...definedOnly(fields), state: to };
    const applied = (
      await db.run(CQL.moveFile, [to, next.completed_at ?? null, next.verified_at ?? null, next.expires_at, fileId, from])
    ).wasApplied();
    if (!applied) return null;
    // The hints follow the row: a crash in between leaves one a reader removes.
    if (to === 'verifying') await queues.add('file-verifying', isoKey(next.completed_at ?? next.created_at), fileId);
    if (from === 'verifying') await queues.remove('file-verifying', isoKey(file.completed_at ?? file.created_at), fileId);
    if (from === 'uploading') {
      await queues.remove('file-open', isoKey(file.expires_at), fileId);
      await db.run(CQL.deleteOpenUpload, [file.uploader_id, fileId]);
      await caps.release({ scope: 'uploads', owner: file.uploader_id }, fileId);
    }
    return next;
  }

  async countOpenUploads(uploaderId: string): Promise<number> {
    return (await this.openUploads(uploaderId)).length;
  }

  /** A user's `uploading` files; index entries of files that moved on are removed. */
  private async openUploads(uploaderId: string): Promise<FileRecord[]> {
    const { db } = this.ctx;
    const ids = (await db.rows(CQL.openUploads, [uploaderId])).map((r) => String(r.file_id));
    const files = await eachLimited(ids, PARALLEL, (id) => this.getFile(id));
    const open: FileRecord[] = [];
    for (const [i, f] of files.entries()) {
      if (f?.state === 'uploading') open.push(f);
      else if (!f || f.created_at < new Date(this.ctx.now() - 60_000).toISOString()) {
        // Not a create in flight (the index is written after the row): a leftover.
        await db.run(CQL.deleteOpenUpload, [uploaderId, ids[i]!]);
      }
    }
    return open;
  }

  async listExpiredUploads(now: string, limit: number): Promise<FileRecord[]> {
    const items = await this.ctx.queues.scan('file-open', isoKey(now), false, limit);
    const out: FileRecord[] = [];
    for (const item of items) {
      const f = await this.getFile(item.itemId);
      if (f?.state === 'uploading' && f.expires_at < now) out.push(f);
      else if (f?.state !== 'uploading') await this.ctx.queues.remove('file-open', item.sort, item.itemId);
    }
    return out;
  }

  async listVerifying(limit: number): Promise<FileRecord[]> {
    const now = new Date(this.ctx.now() + 1).toISOString();
    const items = await this.ctx.queues.scan('file-verifying', isoKey(now), true, limit);
    const out: FileRecord[] = [];
    for (const item of items) {
      const f = await this.getFile(item.itemId);
      if (f?.state === 'verifying') out.push(f);
      else await this.ctx.queues.remove('file-verifying', item.sort, item.itemId);
    }
    return out;
  }
}

function definedOnly(fields: TransitionFields): TransitionFields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as TransitionFields;
}

function toFile(r: CqlRow): FileRecord {
  const file: FileRecord = {
    file_id: String(r.file_id),
    uploader_id: String(r.uploader_id),
    conversation_id: String(r.conversation_id),
    filename: String(r.filename),
    content_type: String(r.content_type),
    size: num(r.size) ?? 0,
    sha256: String(r.sha256),
    part_size: num(r.part_size) ?? 0,
    part_count: num(r.part_count) ?? 0,
    object_key: String(r.object_key),
    upload_id: String(r.upload_id),
    state: String(r.state) as FileState,
    created_at: String(r.created_at),
    expires_at: String(r.expires_at),
  };
  const completed = str(r.completed_at);
  const verified = str(r.verified_at);
  if (completed !== null) file.completed_at = completed;
  if (verified !== null) file.verified_at = verified;
  return file;
}

function toPart(r: CqlRow): FilePart {
  const part: FilePart = { part_number: num(r.part_number) ?? 0, etag: String(r.etag) };
  const size = num(r.size);
  if (size !== null) part.size = size;
  return part;
}

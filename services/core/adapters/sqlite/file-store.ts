import { tooManyUploads } from '../../cap-reached.ts';
import type { FilePart, FileRecord, FileState, FileStore, TransitionFields } from '../../ports/file-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';

type Row = Record<string, unknown>;

/** Files and their part manifests in the embedded SQLite store. */
export class SqliteFileStore implements FileStore {
  private readonly stmt;

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO files (file_id, uploader_id, conversation_id, filename, content_type, size, sha256, part_size, part_count,
           object_key, upload_id, state, created_at, expires_at, completed_at, verified_at)
         VALUES (@file_id, @uploader_id, @conversation_id, @filename, @content_type, @size, @sha256, @part_size, @part_count,
           @object_key, @upload_id, @state, @created_at, @expires_at, @completed_at, @verified_at)`,
      ),
      byId: db.prepare('SELECT * FROM files WHERE file_id = ?'),
      parts: db.prepare('SELECT part_number, etag, size FROM file_parts WHERE file_id = ? ORDER BY part_number'),
      upsertPart: db.prepare(
        `INSERT INTO file_parts (file_id, part_number, etag, size) VALUES (@file_id, @part_number, @etag, @size)
         ON CONFLICT(file_id, part_number) DO UPDATE SET etag = excluded.etag, size = excluded.size`,
      ),
      state: db.prepare('SELECT state FROM files WHERE file_id = ?'),
      transition: db.prepare(
        `UPDATE files SET state = @to, completed_at = COALESCE(@completed_at, completed_at),
           verified_at = COALESCE(@verified_at, verified_at), expires_at = COALESCE(@expires_at, expires_at)
         WHERE file_id = @file_id AND state = @from`,
      ),
      open: db.prepare("SELECT COUNT(*) AS n FROM files WHERE uploader_id = ? AND state = 'uploading'"),
      expired: db.prepare("SELECT * FROM files WHERE state = 'uploading' AND expires_at < ? ORDER BY expires_at LIMIT ?"),
      verifying: db.prepare("SELECT * FROM files WHERE state = 'verifying' ORDER BY created_at LIMIT ?"),
    };
  }

  async createFile(file: FileRecord, cap?: { max: number }): Promise<FileRecord> {
    writeTransaction(this.db, () => {
      if (cap) {
        const n = Number((this.stmt.open.get(file.uploader_id) as Row).n);
        if (n >= cap.max) throw tooManyUploads(file.uploader_id, n, cap.max);
      }
      this.stmt.insert.run({ completed_at: null, verified_at: null, ...file });
    });
    return { ...file };
  }

  async getFile(fileId: string): Promise<FileRecord | null> {
    const row = this.stmt.byId.get(fileId) as Row | undefined;
    return row ? toFile(row) : null;
  }

  async listParts(fileId: string): Promise<FilePart[]> {
    return (this.stmt.parts.all(fileId) as Row[]).map(toPart);
  }

  async recordPart(fileId: string, part: FilePart): Promise<boolean> {
    return writeTransaction(this.db, () => {
      const row = this.stmt.state.get(fileId) as Row | undefined;
      if (row?.state !== 'uploading') return false;
      this.stmt.upsertPart.run({ file_id: fileId, part_number: part.part_number, etag: part.etag, size: part.size ?? null });
      return true;
    });
  }

  async transition(fileId: string, from: FileState, to: FileState, fields: TransitionFields = {}): Promise<FileRecord | null> {
    const changed = this.stmt.transition.run({
      file_id: fileId,
      from,
      to,
      completed_at: fields.completed_at ?? null,
      verified_at: fields.verified_at ?? null,
      expires_at: fields.expires_at ?? null,
    }).changes;
    return changed === 1 ? this.getFile(fileId) : null;
  }

  async countOpenUploads(uploaderId: string): Promise<number> {
    return Number((this.stmt.open.get(uploaderId) as Row).n);
  }

  async listExpiredUploads(now: string, limit: number): Promise<FileRecord[]> {
    return (this.stmt.expired.all(now, limit) as Row[]).map(toFile);
  }

  async listVerifying(limit: number): Promise<FileRecord[]> {
    return (this.stmt.verifying.all(limit) as Row[]).map(toFile);
  }
}

function toFile(r: Row): FileRecord {
  const file: FileRecord = {
    file_id: String(r.file_id),
    uploader_id: String(r.uploader_id),
    conversation_id: String(r.conversation_id),
    filename: String(r.filename),
    content_type: String(r.content_type),
    size: Number(r.size),
    sha256: String(r.sha256),
    part_size: Number(r.part_size),
    part_count: Number(r.part_count),
    object_key: String(r.object_key),
    upload_id: String(r.upload_id),
    state: String(r.state) as FileState,
    created_at: String(r.created_at),
    expires_at: String(r.expires_at),
  };
  if (r.completed_at != null) file.completed_at = String(r.completed_at);
  if (r.verified_at != null) file.verified_at = String(r.verified_at);
  return file;
}

function toPart(r: Row): FilePart {
  const part: FilePart = { part_number: Number(r.part_number), etag: String(r.etag) };
  if (r.size != null) part.size = Number(r.size);
  return part;
}

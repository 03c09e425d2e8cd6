import { AppError } from '../../errors.ts';
import type { FilePart, FileRecord, FileStore } from '../../ports/file-store.ts';
import type { CassandraContext } from './context.ts';

// TODO(#15): the Cassandra file store (next commit); until then every call says so.
const notYet = () => new AppError('not_implemented', 'files on Cassandra are not there yet (#15)', { status: 501 });

/** Files on Cassandra. */
export class CassandraFileStore implements FileStore {
  constructor(private readonly ctx: CassandraContext) {}
  async createFile(_file: FileRecord): Promise<FileRecord> {
    void this.ctx;
    throw notYet();
  }
  async getFile(): Promise<FileRecord | null> {
    throw notYet();
  }
  async listParts(): Promise<FilePart[]> {
    throw notYet();
  }
  async recordPart(): Promise<boolean> {
    throw notYet();
  }
  async transition(): Promise<FileRecord | null> {
    throw notYet();
  }
  async countOpenUploads(): Promise<number> {
    throw notYet();
  }
  async listExpiredUploads(): Promise<FileRecord[]> {
    throw notYet();
  }
  async listFilesInState(): Promise<FileRecord[]> {
    throw notYet();
  }
}

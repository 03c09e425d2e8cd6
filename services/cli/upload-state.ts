import { join } from 'node:path';
import { readJson, writePrivate } from './config-dir.ts';

/**
 * What the CLI remembers of an upload so that running the same command again resumes it: the
 * file as it was (size, mtime: changed means start over), its sha256 (hashed once, not again on
 * resume) and, once the API made one, the session.
 */
export interface UploadEntry {
  /** Absolute path of the local file. */
  path: string;
  size: number;
  mtime_ms: number;
  sha256: string;
  api: string;
  conversation_id: string;
  content_type: string;
  file_id?: string;
  /** Set when the API answered `ready`: the same command again answers at once. */
  state?: 'uploading' | 'ready';
  updated_at: string;
}

/** The fields that say an entry still describes the file on disk, for the same API and conversation. */
export type UploadKey = Pick<UploadEntry, 'path' | 'size' | 'mtime_ms' | 'api' | 'conversation_id'>;

type Entries = Record<string, UploadEntry>;

/** How long an entry is kept after its last change: longer than any upload session lives (FILE_UPLOAD_TTL, 1 day by default). */
const KEEP_DAYS = 30;

/** Uploads are per user: someone else on the machine account never resumes into your session. */
export const uploadsFile = (dir: string, userId: string) => join(dir, `uploads-${userId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);

const keyOf = (k: UploadKey) => `${k.api} ${k.conversation_id} ${k.path}`;

/**
 * The local resume state of one user's uploads, in the CLI's config dir (0600). Every change is
 * written at once (atomically), so a SIGKILL between two parts loses nothing the API does not
 * also know.
 */
export class UploadState {
  constructor(
    private readonly dir: string,
    private readonly userId: string,
  ) {}

  private read(): Entries {
    return readJson<Entries>(uploadsFile(this.dir, this.userId)) ?? {};
  }

  /** The entry for this file, if it still matches the file on disk (same size and mtime). */
  find(key: UploadKey): UploadEntry | undefined {
    const e = this.read()[keyOf(key)];
    return e && e.size === key.size && e.mtime_ms === key.mtime_ms && typeof e.sha256 === 'string' ? e : undefined;
  }

  /** Records the entry; entries untouched for `KEEP_DAYS` go (their sessions expired long ago). */
  save(entry: UploadEntry): void {
    const all = this.read();
    const cutoff = Date.now() - KEEP_DAYS * 86_400_000;
    for (const [k, e] of Object.entries(all)) if (!(Date.parse(e.updated_at) > cutoff)) delete all[k];
    all[keyOf(entry)] = { ...entry, updated_at: new Date().toISOString() };
    writePrivate(this.dir, uploadsFile(this.dir, this.userId).slice(this.dir.length + 1), all);
  }

  forget(key: UploadKey): void {
    const all = this.read();
    if (!(keyOf(key) in all)) return;
    delete all[keyOf(key)];
    writePrivate(this.dir, uploadsFile(this.dir, this.userId).slice(this.dir.length + 1), all);
  }
}

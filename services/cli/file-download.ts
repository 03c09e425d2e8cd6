import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CliError, EXIT } from './cli-error.ts';
import type { HttpClient } from './http-client.ts';
import { getFile, type FileView, type Progress } from './file-upload.ts';

export interface DownloadOptions {
  api: HttpClient;
  fileId: string;
  /** A file path or an existing folder. @default the file's name in the current folder */
  out?: string;
  /** Replace an existing file at the destination (an explicit `-o` does). @default false */
  overwrite?: boolean;
  signal?: AbortSignal;
  progress?: (total: number) => Progress;
  log?: (line: string) => void;
}

export interface DownloadResult {
  path: string;
  file: FileView;
  /** Bytes already on disk from an earlier, interrupted run (fetched with Range). */
  resumed_from: number;
}

/** A file name from the uploader that cannot point outside the folder it is written to. */
export function safeName(filename: string, fallback: string): string {
  const name = [...basename(filename.replace(/\\/g, '/'))].filter((c) => c.charCodeAt(0) >= 0x20).join('');
  return name && name !== '.' && name !== '..' ? name : fallback;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function sizeOf(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

/**
 * Downloads a `ready` file through its presigned GET, into `<dest>.part` first: an interrupted
 * run leaves the bytes it had, and the next one asks only for the rest (`Range: bytes=N-`). The
 * sha256 is computed while writing (the earlier bytes read back once) and checked against the
 * record before the file takes its name; a mismatch removes it.
 */
export async function downloadFile(o: DownloadOptions): Promise<DownloadResult> {
  const file = await getFile(o.api, o.fileId);
  if (!file) throw new CliError(`no file ${o.fileId} for you`, EXIT.notFound, { hint: 'only members of its conversation can download it' });
  if (file.state !== 'ready') throw new CliError(`${o.fileId} is ${file.state}, not ready: nothing to download yet`, EXIT.error);
  const name = safeName(file.filename, file.file_id);
  const dest = o.out === undefined ? name : isDir(o.out) ? join(o.out, name) : o.out;
  if (!o.overwrite && existsSync(dest)) {
    throw new CliError(`${dest} already exists`, EXIT.error, { hint: 'name another place with -o PATH (an explicit -o replaces the file)' });
  }
  const partial = `${dest}.part`;
  let have = sizeOf(partial);
  if (have > file.size) {
    rmSync(partial, { force: true });
    have = 0;
  }
  let hash = createHash('sha256');
  if (have > 0) {
    o.log?.(`resuming ${dest} from ${have} of ${file.size} bytes`);
    for await (const c of createReadStream(partial, { end: have - 1 })) hash.update(c as Buffer);
  }
  const bar = o.progress?.(file.size);
  bar?.start(have);
  let resumedFrom = have;
  try {
    if (have < file.size) {
      const got = await fetchRest(o, file, partial, have, hash, bar);
      hash = got.hash;
      if (got.restarted) resumedFrom = 0;
    }
  } catch (err) {
    bar?.interrupt();
    throw err;
  }
  bar?.finish();
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256 || sizeOf(partial) !== file.size) {
    rmSync(partial, { force: true });
    throw new CliError(`${o.fileId}: the bytes received have sha256 ${sha256}, the record says ${file.sha256}: removed`, EXIT.error, {
      hint: 'run the same command again to download it anew',
    });
  }
  renameSync(partial, dest);
  return { path: dest, file, resumed_from: resumedFrom };
}

/**
 * Appends the bytes from `have` on, feeding `hash`; when the server ignores Range (200 instead of
 * 206) the whole file comes again, so the file and the hash start over (`restarted`). A URL
 * refused with 403 (expired between asking and using it) is asked for again once.
 */
async function fetchRest(o: DownloadOptions, file: FileView, partial: string, have: number, hash: Hash, bar: Progress | undefined): Promise<{ hash: Hash; restarted: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const { url } = await o.api.request<{ url: string; expires_at: string }>('GET', `/v1/files/${encodeURIComponent(file.file_id)}/download?redirect=false`);
    let res: Response;
    try {
      res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: o.signal });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      throw new CliError(`cannot fetch ${file.file_id} from object storage: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`, EXIT.unavailable, {
        hint: 'run the same command again to resume',
      });
    }
    if (res.status === 403 && attempt === 0) {
      await res.body?.cancel();
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new CliError(`object storage answered ${res.status} for ${file.file_id}`, EXIT.error);
    }
    const restarted = have > 0 && res.status === 200;
    const h = restarted ? createHash('sha256') : hash;
    if (restarted) bar?.start(0);
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        h.update(chunk);
        bar?.add(chunk.length);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, createWriteStream(partial, { flags: restarted ? 'w' : 'a' }), { signal: o.signal });
    return { hash: h, restarted };
  }
}

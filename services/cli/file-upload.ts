import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { MAX_FILE_SIZE } from '../core/domain/file.ts';
import { CliError, EXIT } from './cli-error.ts';
import type { HttpClient } from './http-client.ts';
import { sha256File } from './file-hash.ts';
import { sleep, withApi, type ApiRetryOptions } from './api-retry.ts';
import { contentTypeFor } from './content-type.ts';
import { PartSender } from './part-sender.ts';
import { planFits } from './upload-plan.ts';
import { UploadState, type UploadEntry, type UploadKey } from './upload-state.ts';

/** A file session as `GET /v1/files/{id}` shows it (docs/files.md). */
export interface FileView {
  file_id: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  part_size: number;
  part_count: number;
  conversation_id: string;
  state: 'uploading' | 'verifying' | 'ready' | 'corrupt' | 'expired';
  expires_at?: string;
  parts?: { part_number: number; etag: string }[];
  missing?: number[];
}

/** The progress of one phase (hashing, then sending); `ProgressBar` is one. */
export interface Progress {
  start(bytes: number): void;
  add(bytes: number): void;
  finish(summary?: string): void;
  interrupt(): void;
}

export interface UploadOptions extends ApiRetryOptions {
  /** The API, signed in as the uploader. */
  api: HttpClient;
  /** The uploader: the resume state is per user. */
  userId: string;
  /** The CLI's config dir, where the resume state lives. */
  stateDir: string;
  path: string;
  conversationId: string;
  /** @default guessed from the file name's extension, else application/octet-stream */
  contentType?: string;
  /** Part PUTs at once. @default 4 */
  concurrency?: number;
  signal?: AbortSignal;
  /** A progress bar for a phase; none by default. */
  progress?: (phase: 'hashing' | 'sending', total: number) => Progress;
  /** A line for the person (resuming, renewing URLs…). */
  log?: (line: string) => void;
  /** Hears each part stored in object storage (tests and the proof count them). */
  onPartSent?: (partNumber: number) => void;
  /** Between polls of a `verifying` file. @default 1000 */
  pollMs?: number;
}

export interface UploadResult {
  file_id: string;
  sha256: string;
  state: 'ready';
  size: number;
  /** Parts PUT to object storage by this run (a resume sends only the missing ones). */
  parts_sent: number;
  part_count: number;
  /** True when this run continued a session an earlier run made. */
  resumed: boolean;
}

/** How long `complete` may take (object storage joins the parts, then the API starts verifying). */
const COMPLETE_TIMEOUT_MS = 15 * 60_000;


/**
 * Uploads a file the way docs/files.md describes: sha256 while reading, a session, the parts
 * PUT straight to object storage on presigned URLs (`concurrency` at once, each streamed from
 * disk), each ETag reported, then complete and wait for `ready`.
 *
 * Resumable after anything: the session's id is saved before the first byte goes out, so running
 * it again asks the API which parts are `missing` and sends only those (with fresh URLs).
 */
export async function uploadFile(o: UploadOptions): Promise<UploadResult> {
  const path = resolve(o.path);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.error);
  }
  if (!st.isFile()) throw new CliError(`${o.path} is not a file`, EXIT.error);
  // Said before reading 2 GiB to hash it: the API would refuse it (413) anyway.
  if (st.size > MAX_FILE_SIZE) {
    throw new CliError(`${o.path} is ${st.size} bytes: over the ${MAX_FILE_SIZE}-byte (2 GiB) limit`, EXIT.error, { hint: 'files are limited to 2 GiB (2,147,483,648 bytes); 2 GiB exactly is fine' });
  }
  const key: UploadKey = { path, size: st.size, mtime_ms: Math.trunc(st.mtimeMs), api: o.api.baseUrl, conversation_id: o.conversationId };
  const state = new UploadState(o.stateDir, o.userId);
  const log = o.log ?? (() => undefined);

  let entry = state.find(key);
  if (!entry || (o.contentType && entry.content_type !== o.contentType)) {
    const bar = o.progress?.('hashing', st.size);
    bar?.start(0);
    const sha256 = await sha256File(path, { onBytes: (n) => bar?.add(n), signal: o.signal }).catch((err: unknown) => {
      bar?.interrupt();
      throw err;
    });
    bar?.finish();
    entry = { ...key, sha256, content_type: o.contentType ?? contentTypeFor(path), updated_at: '' };
    state.save(entry);
  }

  let file: FileView | undefined;
  let resumed = false;
  if (entry.file_id) {
    file = await withApi(o, () => getFile(o.api, entry!.file_id!));
    if (!file || file.size !== st.size || file.sha256 !== entry.sha256 || file.state === 'expired' || file.state === 'corrupt') {
      log(file ? `the earlier session ${entry.file_id} is ${file.state}: starting a new one` : `the earlier session ${entry.file_id} is gone: starting a new one`);
      file = undefined;
    } else {
      resumed = true;
      if (file.state === 'uploading') log(`resuming ${file.file_id}: ${file.missing?.length ?? 0} of ${file.part_count} parts to send`);
    }
  }
  if (!file) {
    const created = await o.api.request<{ file_id: string; part_size: number; part_count: number; expires_at: string; state: 'uploading' }>('POST', '/v1/files', {
      filename: basename(path),
      size: st.size,
      content_type: entry.content_type,
      sha256: entry.sha256,
      conversation_id: o.conversationId,
    });
    file = {
      ...created,
      filename: basename(path),
      content_type: entry.content_type,
      size: st.size,
      sha256: entry.sha256,
      conversation_id: o.conversationId,
      missing: Array.from({ length: created.part_count }, (_, i) => i + 1),
    };
    // Saved before the first byte goes out: a kill from here on resumes this session.
    entry = { ...entry, file_id: created.file_id, state: 'uploading' };
    state.save(entry);
  }
  if (!planFits(st.size, file.part_size, file.part_count)) {
    throw new CliError(`the API's plan for ${file.file_id} (${file.part_count} parts of ${file.part_size} bytes) does not fit ${st.size} bytes`, EXIT.error);
  }

  let partsSent = 0;
  const fileId = file.file_id;
  const sender = new PartSender(o, path, file, () => partsSent++);
  try {
    for (let round = 0; file.state === 'uploading'; round++) {
      if (round >= 4) throw new CliError(`${fileId}: the API still reports parts missing after ${round} rounds`, EXIT.error);
      const missing = file.missing ?? [];
      if (missing.length) await sender.send(missing);
      file = await complete(o, fileId);
    }
    if (file.state === 'verifying') file = await waitVerified(o, fileId);
  } finally {
    sender.close();
  }
  if (file.state !== 'ready') {
    state.forget(key);
    throw new CliError(
      file.state === 'corrupt'
        ? `${fileId} is corrupt: what object storage holds does not have the sha256 ${entry.sha256} (did ${o.path} change while uploading?)`
        : `${fileId} ended ${file.state}`,
      EXIT.error,
      { hint: 'run the same command again to upload it anew' },
    );
  }
  state.save({ ...(entry as UploadEntry), file_id: fileId, state: 'ready' });
  return { file_id: fileId, sha256: entry.sha256, state: 'ready', size: st.size, parts_sent: partsSent, part_count: file.part_count, resumed };
}

/** The file session, or undefined when the API does not know it (404). */
export async function getFile(api: HttpClient, fileId: string): Promise<FileView | undefined> {
  try {
    return await api.request<FileView>('GET', `/v1/files/${encodeURIComponent(fileId)}`);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.notFound) return undefined;
    throw err;
  }
}

/**
 * Asks the API to complete and verify. `ready`/`corrupt`/`verifying` come back as the file's
 * state; a 409 (parts missing, a part ETag S3 refused) comes back as `uploading` with what the
 * session now misses, so the caller sends those and completes again.
 */
async function complete(o: UploadOptions, fileId: string): Promise<FileView> {
  let refused: CliError | undefined;
  try {
    // Object storage joins the parts before the API answers: minutes for a big file on a slow disk.
    // Idempotent (completing a completed file answers its state): safe to try again.
    const done = await withApi(o, () => o.api.request<{ state: FileView['state'] }>('POST', `/v1/files/${encodeURIComponent(fileId)}/complete`, undefined, { timeoutMs: COMPLETE_TIMEOUT_MS }));
    if (done.state === 'ready' || done.state === 'corrupt' || done.state === 'verifying') return { ...(await withApi(o, () => getFile(o.api, fileId)))!, state: done.state };
  } catch (err) {
    if (!(err instanceof CliError && err.extra.problem?.status === 409)) throw err;
    refused = err;
  }
  const now = await withApi(o, () => getFile(o.api, fileId));
  if (!now) throw new CliError(`${fileId} is gone (expired or cancelled)`, EXIT.notFound, { hint: 'run the same command again to upload it anew' });
  if (now.state !== 'uploading') return now;
  if (!now.missing?.length) {
    if (!refused || !/part-invalid$/.test(refused.extra.problem?.type ?? '')) {
      throw new CliError(`${fileId}: the API refused to complete (${refused?.message ?? 'no answer'}) but reports no part missing`, EXIT.error);
    }
    // Object storage refused a recorded part (its ETag): send that part again when the answer
    // names it, else every part (the ones stored are replaced; nothing else can say which).
    const named = [...(refused.extra.problem?.detail ?? '').matchAll(/\bpart (\d+)\b/g)].map((m) => Number(m[1])).filter((n) => n >= 1 && n <= now.part_count);
    now.missing = named.length ? [...new Set(named)] : Array.from({ length: now.part_count }, (_, i) => i + 1);
  }
  o.log?.(`completing ${fileId}: ${refused?.message.split('\n')[0] ?? 'parts missing'}; sending ${now.missing.length} part(s) again`);
  return now;
}

async function waitVerified(o: UploadOptions, fileId: string): Promise<FileView> {
  for (;;) {
    await sleep(o.pollMs ?? 1000, o.signal);
    const f = await withApi(o, () => getFile(o.api, fileId));
    if (!f) throw new CliError(`${fileId} is gone while verifying`, EXIT.error);
    if (f.state !== 'verifying') return f;
  }
}

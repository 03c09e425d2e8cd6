import { createHash } from 'node:crypto';
import type { FileRecord } from '../core/domain/file.ts';
import { AppError, unavailable } from '../core/errors.ts';
import { isoAt } from '../core/ports/clock.ts';
import { ObjectStoreError, type ObjectStore } from '../core/ports/object-store.ts';
import type { FileDeps } from './file-deps.ts';
import { missingParts, notUploading, ownFile } from './file-uploads.ts';

/** What a completion answers: the verdict, or `verifying` when it takes longer than the wait. */
export interface CompletionResult {
  file_id: string;
  state: FileRecord['state'];
}

/**
 * Completes uploads and verifies files. Verifying streams the object once through sha256 (the
 * memory it takes is one chunk, whatever the size), then compares the digest and the byte count
 * with what the client declared: `ready`, or `corrupt` (and the object is removed: a corrupt file
 * can never be sent). One verification per file at a time in this process; another replica may
 * verify the same file at once, harmlessly: the verdict is written only from `verifying`.
 */
export class FileVerifier {
  private readonly running = new Map<string, Promise<FileRecord | null>>();

  constructor(private readonly deps: FileDeps) {}

  /**
   * `POST /v1/files/{id}/complete`: every part must be recorded (409 `parts_missing` with the
   * `missing` numbers), S3 must accept them (409 `part_invalid`: the session stays open for the
   * client to send parts again), then the verification runs; the answer waits for it up to
   * `FILE_VERIFY_WAIT_MS`. Completing a file already completed answers its state; an expired
   * session answers 409 `file_not_uploading`.
   */
  async complete(me: string, fileId: string): Promise<CompletionResult> {
    const { files, clock } = this.deps;
    const started = clock.now();
    let file = await ownFile(this.deps, me, fileId);
    if (file.state === 'uploading') {
      const parts = await files.listParts(fileId);
      const missing = missingParts(file, parts);
      if (missing.length > 0) {
        throw new AppError('parts_missing', `${missing.length} of ${file.part_count} parts are not recorded: send them, then complete again`, { status: 409, extensions: { missing } });
      }
      await this.completeAtS3(file, parts);
      const moved = await files.transition(fileId, 'uploading', 'verifying', { completed_at: isoAt(clock.now()) });
      if (moved) {
        this.deps.metrics.sessions.inc({ state: 'verifying' });
        file = moved;
      } else {
        file = (await files.getFile(fileId)) ?? file;
      }
    }
    if (file.state === 'expired') throw notUploading(file);
    if (file.state !== 'verifying') return { file_id: fileId, state: file.state };
    const verdict = this.verify(file, started);
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([verdict, new Promise<'wait'>((r) => (timer = setTimeout(() => r('wait'), this.deps.settings.verifyWaitMs)))]);
    clearTimeout(timer);
    if (waited === 'wait') return { file_id: fileId, state: 'verifying' };
    if (!waited) throw unavailable('the file could not be read back from the object store to verify it; it stays verifying and is retried');
    return { file_id: fileId, state: waited.state };
  }

  private async completeAtS3(file: FileRecord, parts: Awaited<ReturnType<FileDeps['files']['listParts']>>): Promise<void> {
    try {
      await this.deps.objects.completeMultipartUpload(file.object_key, file.upload_id, parts);
    } catch (err) {
      if (!(err instanceof ObjectStoreError)) throw err;
      if (err.code === 'part_invalid') {
        throw new AppError('part_invalid', `the object store refused the parts: ${err.message}. Send the parts again (ask for fresh URLs), record their ETags, and complete again`, { status: 409 });
      }
      // A completion that reached S3 before this process stopped: the object is there.
      if (err.code === 'upload_not_found' && (await this.deps.objects.statObject(file.object_key))) return;
      if (err.code === 'upload_not_found') throw new AppError('upload_gone', 'the object store no longer has this upload: start a new one', { status: 409 });
      throw unavailable('the object store is unavailable', err);
    }
  }

  /**
   * Verifies a `verifying` file (once per file in this process; a second call joins the first).
   * Answers the file after its verdict, or null when the object could not be read (it stays
   * `verifying`, for the file job to retry).
   */
  verify(file: FileRecord, startedMs?: number): Promise<FileRecord | null> {
    const inFlight = this.running.get(file.file_id);
    if (inFlight) return inFlight;
    const run = this.runVerification(file, startedMs).finally(() => this.running.delete(file.file_id));
    this.running.set(file.file_id, run);
    return run;
  }

  /** Whether this process is verifying the file now. */
  isVerifying(fileId: string): boolean {
    return this.running.has(fileId);
  }

  /** Waits for every verification under way (at stop). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private async runVerification(file: FileRecord, startedMs?: number): Promise<FileRecord | null> {
    const { files, objects, clock, metrics, logger } = this.deps;
    let measured: { sha256: string; size: number };
    try {
      measured = await hashObject(objects, file.object_key);
    } catch (err) {
      metrics.verificationFailures.inc({ reason: 'unreadable' });
      logger.warn({ err, file_id: file.file_id }, 'file verification could not read the object; it stays verifying and is retried');
      return null;
    }
    const problem = measured.size !== file.size ? 'size_mismatch' : measured.sha256 !== file.sha256 ? 'sha256_mismatch' : null;
    const state = problem ? 'corrupt' : 'ready';
    const done = await files.transition(file.file_id, 'verifying', state, { verified_at: isoAt(clock.now()) });
    if (!done) return files.getFile(file.file_id);
    metrics.sessions.inc({ state });
    const seconds = (clock.now() - (startedMs ?? Date.parse(file.completed_at ?? file.created_at))) / 1000;
    metrics.verificationDuration.observe({ result: state }, Math.max(0, seconds));
    if (problem) {
      metrics.verificationFailures.inc({ reason: problem });
      logger.warn({ file_id: file.file_id, reason: problem, declared_size: file.size, size: measured.size }, 'file is corrupt: it is not what the client declared');
      await objects.removeObject(file.object_key).catch((err: unknown) => logger.warn({ err, file_id: file.file_id }, 'removing a corrupt object failed'));
    } else {
      metrics.uploaded.inc();
      metrics.uploadedBytes.inc(file.size);
    }
    return done;
  }
}

/** sha256 and length of an object, streamed: one chunk in memory at a time. */
export async function hashObject(objects: Pick<ObjectStore, 'getObject'>, key: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await objects.getObject(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

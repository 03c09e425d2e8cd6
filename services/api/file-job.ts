import { isoAt } from '../core/ports/clock.ts';
import { startPeriodic } from '../core/periodic.ts';
import type { FileDeps } from './file-deps.ts';
import { expireSession } from './file-uploads.ts';
import type { FileVerifier } from './file-verification.ts';

/** Files one pass looks at, of each kind. */
const BATCH = 100;

/**
 * One pass of the file job: expires the open sessions past their `expires_at` (their S3 upload
 * aborted: MinIO frees the parts, the local store removes their folder; and an object a crashed
 * completion left is removed), then verifies the `verifying` files that no verification is working
 * on, e.g. after an API restart (those completed more than `resumeAfterMs` ago and not being
 * verified by this process). Answers what it did.
 */
export async function fileJobPass(deps: FileDeps, verifier: FileVerifier, resumeAfterMs: number) {
  const { files, objects, clock, logger } = deps;
  let expired = 0;
  let resumed = 0;
  for (const file of await files.listExpiredUploads(isoAt(clock.now()), BATCH)) {
    try {
      if (!(await expireSession(deps, file))) continue;
      expired++;
      await objects.removeObject(file.object_key);
    } catch (err) {
      logger.warn({ err, file_id: file.file_id }, 'expiring an abandoned upload failed; the next pass tries again');
    }
  }
  const cutoff = clock.now() - resumeAfterMs;
  for (const file of await files.listVerifying(BATCH)) {
    if (verifier.isVerifying(file.file_id) || Date.parse(file.completed_at ?? file.created_at) > cutoff) continue;
    logger.info({ file_id: file.file_id }, 'resuming the verification of a file');
    if (await verifier.verify(file)) resumed++;
  }
  if (expired > 0 || resumed > 0) logger.info({ expired, resumed }, 'file job pass');
  return { expired, resumed };
}

/** Runs the file job every `FILE_CLEANUP_INTERVAL_MS` (`tick()` runs a pass now; `stop()` ends it). */
export function startFileJob(deps: FileDeps, verifier: FileVerifier) {
  const interval = deps.settings.cleanupIntervalMs;
  let last = { expired: 0, resumed: 0 };
  const job = startPeriodic({
    intervalMs: interval,
    pass: async () => {
      last = await fileJobPass(deps, verifier, interval);
    },
    onError: (err) => deps.logger.warn({ err }, 'file job pass failed'),
  });
  return {
    /** Runs one pass now and answers what it did. */
    tick: async () => {
      await job.tick();
      return last;
    },
    stop: job.stop,
  };
}

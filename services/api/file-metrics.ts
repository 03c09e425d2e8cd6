import { Counter, Histogram, type Registry } from 'prom-client';

/** Why a verification did not make a file ready (the `reason` label of `file_verification_failures_total`). */
export type VerificationFailure = 'sha256_mismatch' | 'size_mismatch' | 'unreadable';

/** The metrics of files (docs/metrics.md, "Files"), registered on the API's registry. */
export function createFileMetrics(registry: Registry) {
  const metrics = {
    /** One per file that became `ready` (its bytes verified). */
    uploaded: new Counter({
      name: 'files_uploaded_total',
      help: 'Files uploaded and verified (state ready)',
      registers: [registry],
    }),
    /** Bytes of the files counted by `files_uploaded_total`. */
    uploadedBytes: new Counter({
      name: 'file_upload_bytes_total',
      help: 'Bytes of the files uploaded and verified',
      registers: [registry],
    }),
    /** One per upload session entering a state: `uploading` (created), `verifying`, `ready`, `corrupt`, `expired`. */
    sessions: new Counter<'state'>({
      name: 'file_upload_sessions_total',
      help: 'Upload sessions entering each state',
      labelNames: ['state'],
      registers: [registry],
    }),
    /** From the completion request to the verdict (S3's completion plus the streaming sha256), by result `ready` or `corrupt`. */
    verificationDuration: new Histogram<'result'>({
      name: 'file_verification_duration_seconds',
      help: 'Time from completing an upload to its verdict, by result',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    /**
     * Verifications that did not make a file ready: `sha256_mismatch` and `size_mismatch` mark it
     * `corrupt`; `unreadable` (the object store failed) leaves it `verifying`, retried by the file job.
     */
    verificationFailures: new Counter<'reason'>({
      name: 'file_verification_failures_total',
      help: 'File verifications that did not make the file ready, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  // Every series exists from the start at 0, so dashboards and alerts see a rate of 0, not no data.
  for (const result of ['ready', 'corrupt']) metrics.verificationDuration.zero({ result });
  for (const state of ['uploading', 'verifying', 'ready', 'corrupt', 'expired']) metrics.sessions.inc({ state }, 0);
  for (const reason of ['sha256_mismatch', 'size_mismatch', 'unreadable'] satisfies VerificationFailure[]) metrics.verificationFailures.inc({ reason }, 0);
  return metrics;
}

export type FileMetrics = ReturnType<typeof createFileMetrics>;

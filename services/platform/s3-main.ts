/**
 * The local platform's object store as its own process (`s3` in `platform ps`): s3rver with the
 * multipart calls it lacks (services/lib/local-s3.ts), on S3_HOST:S3_PORT, its data in S3_DIR, the
 * bucket S3_BUCKET made at start. It serves `/healthz` for the supervisor and `/metrics` (the
 * process metrics) for the live view, and stops on SIGTERM/SIGINT.
 */
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { stopOnSignals } from '../core/run-service.ts';
import { startLocalS3 } from '../lib/local-s3.ts';

const logger = createLogger(process.env.SERVICE_NAME ?? 's3', process.env.LOG_LEVEL ?? 'info');
const registry = createRegistry('s3');
const directory = process.env.S3_DIR ?? '.data/s3';
const bucket = process.env.S3_BUCKET ?? 'chat4all-files';

const started = startLocalS3({
  directory,
  host: process.env.S3_HOST ?? '127.0.0.1',
  port: Number(process.env.S3_PORT ?? 9000),
  buckets: [bucket],
  routes: {
    '/healthz': async () => ({ type: 'application/json', body: '{"status":"ok"}' }),
    '/metrics': async () => ({ type: registry.contentType, body: await registry.metrics() }),
  },
});
started.then(
  (s3) => logger.info({ endpoint: s3.endpoint, directory, bucket }, 'local S3 (s3rver) listening'),
  (err: unknown) => {
    logger.fatal({ err }, 'could not start the local S3');
    process.exit(1);
  },
);
stopOnSignals({ stop: async () => (await started).close() }, logger, 10_000);

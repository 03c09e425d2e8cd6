import type { Config } from '../core/config.ts';
import type { Adapters } from '../core/build-adapters.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { listenService } from '../core/metrics-server.ts';
import { httpLimits } from '../core/http-limits.ts';
import { createApi } from './app.ts';

/** A running API: its HTTP server. */
export interface ApiProcess {
  url: string;
  /** Stops accepting connections and lets requests in flight finish; the adapters are the caller's to close. */
  stop(): Promise<void>;
}

/**
 * The API's composition root: `services/api/main.ts` and the embedded one-process platform both
 * build their API here, from `Config` and adapters.
 */
export async function composeApi(config: Config, adapters: Adapters, logger: Logger): Promise<ApiProcess> {
  const registry = createRegistry('api');
  const { app, fastPath, startFileJob } = createApi({ ...adapters, config, logger, registry });
  // The bucket exists before the first upload. An object store that is down (or does not answer
  // within 10 s) is said, not fatal: messages work without it, and file calls answer 503 meanwhile.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    adapters.objects.ensureBucket(),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000))),
  ])
    .catch((err: unknown) => logger.error({ err, bucket: config.s3Bucket, endpoint: config.s3Endpoint }, 'the object store bucket could not be checked or made; file uploads fail until it can'))
    .finally(() => clearTimeout(timer));
  const fileJob = startFileJob();
  const served = await listenService(app, {
    host: config.apiHost,
    port: config.apiPort,
    metricsPort: config.metricsPort,
    registry,
    limits: httpLimits(config),
    // Sends are answered before Express (and before the metrics port's front app) sees them.
    first: fastPath,
  });
  logger.info({ url: served.http.url, metrics_url: served.metrics?.url }, 'api listening');
  return {
    url: served.http.url,
    stop: async () => {
      await served.close();
      await fileJob.stop();
    },
  };
}

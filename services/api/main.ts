/**
 * The API service on its own: `tsx services/api/main.ts`. Reads the environment (see
 * services/core/config.ts) and serves on API_HOST:API_PORT. On SIGTERM/SIGINT it stops accepting
 * connections, lets requests in flight finish, then closes the bus and the store. `runService`
 * reports bad configuration and warns about built-in dev secrets.
 */
import { buildAdapters } from '../core/build-adapters.ts';
import { listenService } from '../core/metrics-server.ts';
import { createRegistry } from '../core/metrics.ts';
import { runService } from '../core/run-service.ts';
import { createApp } from './app.ts';

runService('api', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('api');
  const app = createApp({ ...adapters, config, logger, registry });
  const served = await listenService(app, { host: config.apiHost, port: config.apiPort, metricsPort: config.metricsPort, registry });
  const http = served.http;
  logger.info({ url: http.url, metrics_url: served.metrics?.url }, 'api listening');
  console.log(`Chat4All API listening on ${http.url} (docs: ${http.url}/docs)`);
  return {
    async stop() {
      await served.close();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

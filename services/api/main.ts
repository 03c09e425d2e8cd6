/**
 * The API service on its own: `tsx services/api/main.ts` (wired in compose.ts). Reads the
 * environment (see services/core/config.ts) and serves on API_HOST:API_PORT. On SIGTERM/SIGINT it
 * stops accepting connections, lets requests in flight finish, then closes the bus and the store.
 * `runService` reports bad configuration and warns about built-in dev secrets.
 */
import { buildAdapters } from '../core/build-adapters.ts';
import { runService } from '../core/run-service.ts';
import { composeApi } from './compose.ts';

runService('api', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const api = await composeApi(config, adapters, logger);
  console.log(`Chat4All API listening on ${api.url} (docs: ${api.url}/docs)`);
  return {
    async stop() {
      await api.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

/** The router process: `tsx services/router/main.ts` (wired in compose.ts). */
import { buildAdapters } from '../core/build-adapters.ts';
import { runService } from '../core/run-service.ts';
import { composeRouter } from './compose.ts';

runService('router', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const router = await composeRouter(config, adapters, logger);
  return {
    async stop() {
      await router.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

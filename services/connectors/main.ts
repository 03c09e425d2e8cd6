/** The connectors process: `tsx services/connectors/main.ts` (wired in compose.ts). */
import { buildAdapters } from '../core/build-adapters.ts';
import { runService } from '../core/run-service.ts';
import { composeConnectors } from './compose.ts';

runService('connectors', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const connectors = await composeConnectors(config, adapters, logger);
  return {
    async stop() {
      await connectors.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

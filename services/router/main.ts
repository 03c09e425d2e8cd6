import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { runService } from '../core/run-service.ts';
import { createRouterMetrics } from './metrics.ts';
import { createRouterApp } from './app.ts';
import { startRouter } from './router-service.ts';

runService('router', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('router');
  const router = await startRouter(
    { ...adapters, logger, metrics: createRouterMetrics(registry) },
    { relay: { intervalMs: config.relayIntervalMs, ageMs: config.relayAgeMs } },
  );
  const http = await listen(createRouterApp({ ...adapters, registry }), config.routerHost, config.routerPort);
  logger.info({ url: http.url }, 'router running');
  return {
    async stop() {
      await closeServer(http.server);
      await router.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { runService } from '../core/run-service.ts';
import { createRouterMetrics } from './metrics.ts';
import { createRouterApp } from './app.ts';
import { startRouter } from './router-service.ts';
import { startWebhookDispatcher } from '../webhooks/dispatcher.ts';
import { webhookSettings } from '../webhooks/settings.ts';

runService('router', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('router');
  const router = await startRouter(
    { ...adapters, logger, metrics: createRouterMetrics(registry) },
    { relay: { intervalMs: config.relayIntervalMs, ageMs: config.relayAgeMs }, concurrency: config.consumerConcurrency },
  );
  const webhooks = startWebhookDispatcher(
    { store: adapters.store, clock: adapters.clock, logger, registry },
    { ...webhookSettings(config), intervalMs: 1000 },
  );
  const http = await listen(createRouterApp({ ...adapters, registry }), config.routerHost, config.routerPort);
  logger.info({ url: http.url }, 'router running');
  return {
    async stop() {
      await closeServer(http.server);
      await webhooks.stop();
      await router.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

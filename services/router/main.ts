import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { runService } from '../core/run-service.ts';
import { createRouterMetrics } from './metrics.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { createRouterApp } from './app.ts';
import { ROUTER_GROUP, STATUS_GROUP, startRouter } from './router-service.ts';
import { KafkaBus } from '../core/adapters/kafka-bus.ts';
import { kafkaOffsetReader, startConsumerLag } from '../core/consumer-lag.ts';
import { TOPICS } from '../core/topics.ts';
import { startWebhookDispatcher } from '../webhooks/dispatcher.ts';
import { webhookSettings } from '../webhooks/settings.ts';

runService('router', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('router');
  const router = await startRouter(
    { ...adapters, logger, metrics: createRouterMetrics(registry), deadLetters: createDeadLetterMetrics(registry) },
    {
      relay: {
        intervalMs: config.relayIntervalMs,
        ageMs: config.relayAgeMs,
        partitions: config.partitions,
        // Its own admin client: what is still queued in the bus is not relayed however old.
        positions: adapters.bus instanceof KafkaBus ? kafkaOffsetReader(adapters.bus.admin()) : undefined,
      },
      concurrency: config.consumerConcurrency,
      keyConcurrency: config.consumerKeyConcurrency,
    },
  );
  const webhooks = startWebhookDispatcher(
    { store: adapters.store, clock: adapters.clock, logger, registry },
    { ...webhookSettings(config), intervalMs: 1000 },
  );
  const lag =
    adapters.bus instanceof KafkaBus
      ? startConsumerLag({
          reader: kafkaOffsetReader(adapters.bus.admin()),
          registry,
          targets: [
            { group: ROUTER_GROUP, topics: [TOPICS.accepted] },
            { group: STATUS_GROUP, topics: [TOPICS.status] },
          ],
          logger,
        })
      : null;
  const http = await listen(createRouterApp({ ...adapters, registry }), config.routerHost, config.routerPort);
  logger.info({ url: http.url }, 'router running');
  return {
    async stop() {
      await closeServer(http.server);
      await lag?.stop();
      await webhooks.stop();
      await router.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { listenService } from '../core/metrics-server.ts';
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
  // One admin client reads the offsets for both the lag metrics and the relay.
  const offsets = adapters.bus instanceof KafkaBus ? kafkaOffsetReader(adapters.bus.admin()) : null;
  const router = await startRouter(
    { ...adapters, logger, metrics: createRouterMetrics(registry), deadLetters: createDeadLetterMetrics(registry) },
    {
      relay: {
        intervalMs: config.relayIntervalMs,
        ageMs: config.relayAgeMs,
        partitions: config.partitions,
        // What is still queued in the bus is not relayed however old.
        positions: offsets ?? undefined,
      },
      concurrency: config.consumerConcurrency,
      keyConcurrency: config.consumerKeyConcurrency,
    },
  );
  const webhooks = startWebhookDispatcher(
    { store: adapters.store, clock: adapters.clock, logger, registry },
    { ...webhookSettings(config), intervalMs: 1000 },
  );
  const lag = offsets
    ? startConsumerLag({
        reader: offsets,
        registry,
        targets: [
          { group: ROUTER_GROUP, topics: [TOPICS.accepted] },
          { group: STATUS_GROUP, topics: [TOPICS.status] },
        ],
        logger,
      })
    : null;
  const served = await listenService(createRouterApp({ ...adapters, registry }), { host: config.routerHost, port: config.routerPort, metricsPort: config.metricsPort, registry });
  logger.info({ url: served.http.url, metrics_url: served.metrics?.url }, 'router running');
  return {
    async stop() {
      await served.close();
      await webhooks.stop();
      await router.stop();
      await lag?.stop(); // closes the offset reader, after the relay's last pass
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

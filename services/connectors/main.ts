import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { listenService } from '../core/metrics-server.ts';
import { runService } from '../core/run-service.ts';
import { buildConnectorRuntime } from './connector-runtime.ts';
import { createConnectorsApp } from './app.ts';
import { connectorGroup, startConnectors } from './connector-service.ts';
import { KafkaBus } from '../core/adapters/kafka-bus.ts';
import { kafkaOffsetReader, startConsumerLag } from '../core/consumer-lag.ts';
import { deliveryTopic } from '../core/topics.ts';

runService('connectors', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('connectors');
  const runtime = buildConnectorRuntime(config, adapters, logger, registry);
  const service = await startConnectors({ ...runtime.deliverDeps, bus: adapters.bus, deadLetters: runtime.deadLetters }, config.connectorChannels, {
    concurrency: config.consumerConcurrency,
    keyConcurrency: config.consumerKeyConcurrency,
    partitions: config.partitions,
  });
  const lag =
    adapters.bus instanceof KafkaBus
      ? startConsumerLag({
          reader: kafkaOffsetReader(adapters.bus.admin()),
          registry,
          targets: config.connectorChannels.map((c) => ({ group: connectorGroup(c), topics: [deliveryTopic(c)] })),
          logger,
        })
      : null;
  const served = await listenService(createConnectorsApp({ ...adapters, logger, metrics: runtime.metrics, connectors: runtime.connectors, registry }), {
    host: config.connectorsHost,
    port: config.connectorsPort,
    metricsPort: config.metricsPort,
    registry,
  });
  logger.info({ url: served.http.url, metrics_url: served.metrics?.url, channels: config.connectorChannels }, 'connectors running');
  return {
    async stop() {
      await served.close();
      await lag?.stop();
      await service.stop();
      runtime.shutdown();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

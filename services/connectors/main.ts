import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { runService } from '../core/run-service.ts';
import { buildConnectorRuntime } from './connector-runtime.ts';
import { createConnectorsApp } from './app.ts';
import { connectorGroup, startConnectors } from './connector-service.ts';
import { KafkaBus } from '../core/adapters/kafka/kafka-bus.ts';
import { startConsumerLag } from '../core/consumer-lag.ts';
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
          reader: adapters.bus.offsetReader(),
          registry,
          targets: config.connectorChannels.map((c) => ({ group: connectorGroup(c), topics: [deliveryTopic(c)] })),
          logger,
        })
      : null;
  const http = await listen(
    createConnectorsApp({ ...adapters, logger, metrics: runtime.metrics, connectors: runtime.connectors, registry }),
    config.connectorsHost,
    config.connectorsPort,
  );
  logger.info({ url: http.url, channels: config.connectorChannels }, 'connectors running');
  return {
    async stop() {
      await closeServer(http.server);
      await lag?.stop();
      await service.stop();
      runtime.shutdown();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

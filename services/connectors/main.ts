import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { runService } from '../core/run-service.ts';
import { buildConnectors } from './registry.ts';
import { connectorSettings } from './settings.ts';
import { createConnectorMetrics } from './metrics.ts';
import { createConnectorsApp } from './app.ts';
import { startConnectors } from './connector-service.ts';

runService('connectors', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const registry = createRegistry('connectors');
  const metrics = createConnectorMetrics(registry);
  const connectors = buildConnectors(connectorSettings(config));
  const service = await startConnectors(
    { ...adapters, logger, metrics, connectors, filesBaseUrl: config.filesPublicBaseUrl, inDoubtGraceMs: config.inDoubtGraceMs },
    config.connectorChannels,
  );
  const http = await listen(
    createConnectorsApp({ ...adapters, logger, metrics, connectors, registry }),
    config.connectorsHost,
    config.connectorsPort,
  );
  logger.info({ url: http.url, channels: config.connectorChannels }, 'connectors running');
  return {
    async stop() {
      await closeServer(http.server);
      await service.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

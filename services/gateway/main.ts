/**
 * The push gateway on its own: `tsx services/gateway/main.ts`. Serves WebSocket `/v1/stream`,
 * `/healthz`, `/readyz` and `/metrics` on GATEWAY_HOST:GATEWAY_PORT (see docs/realtime.md). On
 * SIGTERM it closes every connection with 1001 (clients reconnect to another gateway and resume),
 * leaves the topics and closes the store.
 */
import { buildAdapters } from '../core/build-adapters.ts';
import { createRegistry } from '../core/metrics.ts';
import { runService } from '../core/run-service.ts';
import { createGateway, gatewaySettings } from './gateway.ts';

runService('gateway', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const gateway = createGateway({ ...adapters, logger, registry: createRegistry('gateway') }, gatewaySettings(config));
  await gateway.start();
  await new Promise<void>((resolve, reject) => {
    gateway.server.once('error', reject);
    gateway.server.listen(config.gatewayPort, config.gatewayHost, () => resolve());
  });
  logger.info({ url: `ws://${config.gatewayHost}:${config.gatewayPort}/v1/stream` }, 'gateway listening');
  return {
    async stop() {
      await gateway.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

/**
 * The push gateway on its own: `tsx services/gateway/main.ts` (wired in compose.ts). Serves WebSocket `/v1/stream`,
 * `/healthz`, `/readyz` and `/metrics` on GATEWAY_HOST:GATEWAY_PORT (see docs/realtime.md). On
 * SIGTERM it closes every connection with 1001 (clients reconnect to another gateway and resume),
 * leaves the topics and closes the store.
 */
import { buildAdapters } from '../core/build-adapters.ts';
import { runService } from '../core/run-service.ts';
import { composeGateway } from './compose.ts';

runService('gateway', async (config, logger) => {
  const adapters = await buildAdapters(config, {}, logger);
  const gateway = await composeGateway(config, adapters, logger);
  return {
    async stop() {
      await gateway.stop();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
});

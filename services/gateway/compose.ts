import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config.ts';
import type { Adapters } from '../core/build-adapters.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { closeServer, listen } from '../core/listen.ts';
import { metricsOnlyApp } from '../core/metrics-server.ts';
import { createGateway, gatewaySettings } from './gateway.ts';

/** A running push gateway: its WebSocket URL. */
export interface GatewayProcess {
  /** `ws://host:port/v1/stream`. */
  streamUrl: string;
  /** Closes every connection with 1001 and leaves the topics; the adapters are the caller's to close. */
  stop(): Promise<void>;
}

/**
 * The push gateway's composition root: `services/gateway/main.ts` and the embedded one-process
 * platform both build their gateway here, from `Config` and adapters.
 */
export async function composeGateway(config: Config, adapters: Adapters, logger: Logger): Promise<GatewayProcess> {
  const registry = createRegistry('gateway');
  const gateway = createGateway({ ...adapters, logger, registry }, gatewaySettings(config));
  await gateway.start();
  await new Promise<void>((resolve, reject) => {
    gateway.server.once('error', reject);
    gateway.server.listen(config.gatewayPort, config.gatewayHost, () => resolve());
  });
  const { port } = gateway.server.address() as AddressInfo;
  const streamUrl = `ws://${config.gatewayHost}:${port}/v1/stream`;
  // With METRICS_PORT (the chart), `/metrics` is served there only, like the other services.
  const metrics = config.metricsPort === undefined ? null : await listen(metricsOnlyApp(registry), config.gatewayHost, config.metricsPort);
  logger.info({ url: streamUrl, metrics_url: metrics?.url }, 'gateway listening');
  return {
    streamUrl,
    async stop() {
      await gateway.stop();
      if (metrics) await closeServer(metrics.server);
    },
  };
}

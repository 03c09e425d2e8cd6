import type { Server } from 'node:http';
import type { Config } from '../core/config.ts';
import { buildAdapters, type Adapters, type GivenAdapters } from '../core/build-adapters.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { httpLimits } from '../core/http-limits.ts';
import { closeServer, listen } from '../core/listen.ts';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { createApp } from '../api/app.ts';
import { createRouterMetrics } from '../router/metrics.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { createRouterApp } from '../router/app.ts';
import { startRouter } from '../router/router-service.ts';
import { startWebhookDispatcher } from '../webhooks/dispatcher.ts';
import { webhookSettings } from '../webhooks/settings.ts';
import { buildConnectorRuntime } from '../connectors/connector-runtime.ts';
import { createConnectorsApp } from '../connectors/app.ts';
import { startConnectors } from '../connectors/connector-service.ts';
import { createProviderSim } from '../provider-sim/sim.ts';

export interface EmbeddedPlatform {
  apiUrl: string;
  routerUrl: string;
  connectorsUrl: string;
  /** The provider simulator's URL, when this platform started one. */
  simUrl: string | null;
  adapters: Adapters;
  logger: Logger;
  /** Runs one outbox relay pass now. */
  relayTick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole platform in one process on the embedded defaults: API, router, connectors and,
 * when asked, the provider simulator. Each keeps its own HTTP server and metric registry, as it
 * would in its own process.
 */
export async function startEmbeddedPlatform(
  config: Config,
  options: { logger?: Logger; adapters?: GivenAdapters } = {},
): Promise<EmbeddedPlatform> {
  const logger = options.logger ?? createLogger('platform', config.logLevel);
  const adapters = await buildAdapters(config, options.adapters, logger);
  const servers: Server[] = [];
  const stops: (() => Promise<void>)[] = [];

  let simUrl: string | null = null;
  let sim: ReturnType<typeof createProviderSim> | null = null;
  if (config.startSimulator) {
    sim = createProviderSim({
      appSecret: config.metaAppSecret,
      accessToken: config.whatsappToken,
      webhookUrls: {},
      logger: logger.child({ service: 'provider-sim' }),
    });
    const s = await listen(sim.app, config.simHost, config.simPort);
    servers.push(s.server);
    simUrl = s.url;
  }

  const connectorsRegistry = createRegistry('connectors');
  const connectorsLogger = logger.child({ service: 'connectors' });
  const runtime = buildConnectorRuntime(config, adapters, connectorsLogger, connectorsRegistry, simUrl ?? undefined);
  stops.push(async () => runtime.shutdown());
  const c = await listen(
    createConnectorsApp({ ...adapters, config, logger: connectorsLogger, metrics: runtime.metrics, connectors: runtime.connectors, registry: connectorsRegistry }),
    config.connectorsHost,
    config.connectorsPort,
    httpLimits(config),
  );
  servers.push(c.server);
  if (simUrl) {
    const res = await fetch(`${simUrl}/_sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        webhook_urls: { whatsapp: `${c.url}/webhooks/whatsapp`, instagram: `${c.url}/webhooks/instagram` },
      }),
    });
    if (!res.ok) throw new Error(`could not point the simulator's webhooks at the connectors: ${res.status} ${await res.text()}`);
  }

  const routerRegistry = createRegistry('router');
  const routerDeps = {
    ...adapters,
    logger: logger.child({ service: 'router' }),
    metrics: createRouterMetrics(routerRegistry),
    deadLetterMetrics: createDeadLetterMetrics(routerRegistry),
    maxBatchBytes: config.busMaxBatchBytes,
  };
  const router = await startRouter(routerDeps, {
    relay: { intervalMs: config.relayIntervalMs, ageMs: config.relayAgeMs },
    concurrency: config.consumerConcurrency,
    keyConcurrency: config.consumerKeyConcurrency,
  });
  stops.push(() => router.stop());
  const webhooks = startWebhookDispatcher(
    { webhooks: adapters.webhooks, clock: adapters.clock, logger: routerDeps.logger, registry: routerRegistry },
    { ...webhookSettings(config), intervalMs: 200 },
  );
  stops.push(() => webhooks.stop());
  const r = await listen(createRouterApp({ ...adapters, registry: routerRegistry }), config.routerHost, config.routerPort);
  servers.push(r.server);

  const connectorService = await startConnectors({ ...runtime.deliverDeps, bus: adapters.bus, deadLetters: adapters.deadLetters, deadLetterMetrics: runtime.deadLetterMetrics }, [...EXTERNAL_CHANNELS], {
    partitions: config.partitions,
    concurrency: config.consumerConcurrency,
    keyConcurrency: config.consumerKeyConcurrency,
  });
  stops.push(() => connectorService.stop());

  const apiRegistry = createRegistry('api');
  const api = await listen(
    createApp({ config, ...adapters, logger: logger.child({ service: 'api' }), registry: apiRegistry }),
    config.apiHost,
    config.apiPort,
    httpLimits(config),
  );
  servers.push(api.server);

  return {
    apiUrl: api.url,
    routerUrl: r.url,
    connectorsUrl: c.url,
    simUrl,
    adapters,
    logger,
    relayTick: () => router.relay.tick(),
    async stop() {
      // Stop taking requests first, then drain the workers, then close the stores.
      await Promise.all(servers.map((s) => closeServer(s)));
      for (const stop of stops.reverse()) await stop();
      await sim?.close();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
}

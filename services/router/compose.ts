import type { Config } from '../core/config.ts';
import type { Adapters } from '../core/build-adapters.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { listenService } from '../core/metrics-server.ts';
import { createDeadLetterMetrics } from '../core/dead-letters.ts';
import { startConsumerLag } from '../core/consumer-lag.ts';
import { TOPICS } from '../core/topics.ts';
import { startWebhookDispatcher } from '../webhooks/dispatcher.ts';
import { webhookSettings, type WebhookSettings } from '../webhooks/settings.ts';
import { createRouterMetrics } from './metrics.ts';
import { createRouterApp } from './app.ts';
import { ROUTER_GROUP, STATUS_GROUP, startRouter, type RouterService } from './router-service.ts';
import { routerTestOnly } from './experiment-switches.ts';

/** Everything a router process is wired with, as plain data (logged at start, compared by a test). */
export interface RouterSettings {
  relay: { intervalMs: number; ageMs: number; partitions: number; readsOffsets: boolean };
  concurrency: number;
  keyConcurrency: number;
  webhooks: WebhookSettings & { intervalMs: number };
  testOnly: { disableRecovery: boolean; emulatedStoreLatencyMs: number; emulatedStoreConnections: number };
}

/** A running router: its consumers, outbox relay, client webhook dispatcher, lag metrics and HTTP face. */
export interface RouterProcess {
  url: string;
  settings: RouterSettings;
  relay: RouterService['relay'];
  /** Stops taking requests, drains the workers; the adapters are the caller's to close. */
  stop(): Promise<void>;
}

/** The router's settings from the config (the one place they are chosen). */
export function routerSettings(config: Config, readsOffsets: boolean): RouterSettings {
  return {
    relay: { intervalMs: config.relayIntervalMs, ageMs: config.relayAgeMs, partitions: config.partitions, readsOffsets },
    concurrency: config.consumerConcurrency,
    keyConcurrency: config.consumerKeyConcurrency,
    webhooks: { ...webhookSettings(config), intervalMs: config.webhookIntervalMs },
    testOnly: {
      disableRecovery: config.chaosDisableRecovery,
      emulatedStoreLatencyMs: config.routerEmulatedStoreLatencyMs,
      emulatedStoreConnections: config.routerEmulatedStoreConnections,
    },
  };
}

/**
 * The router's composition root: `services/router/main.ts` and the embedded one-process platform
 * both build their router here, from `Config` and adapters, so the two cannot drift.
 */
export async function composeRouter(config: Config, adapters: Adapters, logger: Logger): Promise<RouterProcess> {
  const registry = createRegistry('router');
  // One admin client reads the offsets for both the lag metrics and the relay.
  const { offsets } = adapters;
  const settings = routerSettings(config, offsets !== null);
  const router = await startRouter(
    {
      ...adapters,
      logger,
      metrics: createRouterMetrics(registry),
      deadLetterMetrics: createDeadLetterMetrics(registry),
      maxBatchBytes: config.busMaxBatchBytes,
      testOnly: routerTestOnly(config),
      inboundReorderWindowMs: config.inboundReorderWindowMs,
    },
    {
      relay: {
        intervalMs: settings.relay.intervalMs,
        ageMs: settings.relay.ageMs,
        partitions: settings.relay.partitions,
        // What is still queued in the bus is not relayed however old.
        positions: offsets ?? undefined,
      },
      concurrency: settings.concurrency,
      keyConcurrency: settings.keyConcurrency,
    },
  );
  const webhooks = startWebhookDispatcher({ webhooks: adapters.webhooks, clock: adapters.clock, logger, registry }, settings.webhooks);
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
  logger.info({ url: served.http.url, metrics_url: served.metrics?.url, settings }, 'router running');
  return {
    url: served.http.url,
    settings,
    relay: router.relay,
    async stop() {
      await served.close();
      await webhooks.stop();
      await router.stop();
      await lag?.stop(); // closes the offset reader, after the relay's last pass
    },
  };
}

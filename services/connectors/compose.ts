import type { Config } from '../core/config.ts';
import type { Adapters } from '../core/build-adapters.ts';
import type { ExternalChannel } from '../core/domain/types.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { listenService } from '../core/metrics-server.ts';
import { httpLimits } from '../core/http-limits.ts';
import { startConsumerLag } from '../core/consumer-lag.ts';
import { deliveryTopic } from '../core/topics.ts';
import { buildConnectorRuntime } from './connector-runtime.ts';
import { acceptInbound, inboundSettings } from '../core/inbound/accept-inbound.ts';
import { connectorsListener } from './app.ts';
import { inboundMediaStorer } from './inbound-media.ts';
import { connectorGroup, startConnectors } from './connector-service.ts';
import { recentConversations } from './recent-conversations.ts';

/** How late the status intake may see a conversation's new or removed member. */
const MEMBERS_TTL_MS = 1000;

/** Everything a connectors process is wired with, as plain data (logged at start, compared by a test). */
export interface ConnectorsSettings {
  channels: ExternalChannel[];
  partitions: number;
  concurrency: number;
  keyConcurrency: number;
  readsOffsets: boolean;
}

/** A running connectors process: its consumers, parked-delivery retries, lag metrics and HTTP face. */
export interface ConnectorsProcess {
  url: string;
  settings: ConnectorsSettings;
  /** Stops taking provider webhooks, drains the consumers; the adapters are the caller's to close. */
  stop(): Promise<void>;
}

/** The connectors' settings from the config (the one place they are chosen). */
export function connectorsSettings(config: Config, readsOffsets: boolean): ConnectorsSettings {
  return {
    channels: [...config.connectorChannels],
    partitions: config.partitions,
    concurrency: config.consumerConcurrency,
    keyConcurrency: config.consumerKeyConcurrency,
    readsOffsets,
  };
}

/**
 * The connectors' composition root: `services/connectors/main.ts` and the embedded one-process
 * platform both build their connectors here. `providerBaseUrl` points every channel at one
 * provider (the embedded platform's own simulator, whose port is known only once it listens).
 */
export async function composeConnectors(
  config: Config,
  adapters: Adapters,
  logger: Logger,
  options: { providerBaseUrl?: string } = {},
): Promise<ConnectorsProcess> {
  const registry = createRegistry('connectors');
  const inbound = inboundSettings(config);
  const settings = connectorsSettings(config, adapters.offsets !== null);
  const runtime = buildConnectorRuntime(config, adapters, logger, registry, options.providerBaseUrl);
  const service = await startConnectors({ ...runtime.deliverDeps, bus: adapters.bus, deadLetters: adapters.deadLetters, deadLetterMetrics: runtime.deadLetterMetrics }, settings.channels, {
    concurrency: settings.concurrency,
    keyConcurrency: settings.keyConcurrency,
    partitions: settings.partitions,
  });
  const lag =
    adapters.offsets
      ? startConsumerLag({
          reader: adapters.offsets,
          registry,
          targets: settings.channels.map((c) => ({ group: connectorGroup(c), topics: [deliveryTopic(c)] })),
          logger,
        })
      : null;
  const storeMedia = inboundMediaStorer({
    ...adapters,
    connectors: runtime.connectors,
    metrics: runtime.metrics,
    logger,
    limits: { maxBytes: config.inboundMediaMaxBytes, timeoutMs: config.inboundMediaTimeoutMs },
    maxAttempts: config.inboundMediaAttempts,
  });
  const app = connectorsListener({
    ...adapters,
    // Only the status intake reads conversations here (their members, to tell them a status).
    conversations: recentConversations(adapters.conversations, adapters.clock, { ttlMs: MEMBERS_TTL_MS }),
    config,
    logger,
    metrics: runtime.metrics,
    connectors: runtime.connectors,
    // The sends of this process's consumers: their statuses are matched without a store read.
    recentSends: runtime.deliverDeps.recentSends,
    registry,
    acceptInbound: (m) => acceptInbound({ ...adapters, logger, settings: inbound, storeMedia }, m),
  });
  const served = await listenService(app, {
    host: config.connectorsHost,
    port: config.connectorsPort,
    metricsPort: config.metricsPort,
    registry,
    limits: httpLimits(config),
  });
  logger.info({ url: served.http.url, metrics_url: served.metrics?.url, settings }, 'connectors running');
  return {
    url: served.http.url,
    settings,
    async stop() {
      await served.close();
      await lag?.stop();
      await service.stop();
      runtime.shutdown();
    },
  };
}

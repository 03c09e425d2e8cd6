import type { Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import type { Adapters } from '../core/build-adapters.ts';
import type { Logger } from '../core/logger.ts';
import type { ExternalChannel } from '../core/domain/types.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { buildConnectors } from './registry.ts';
import { connectorSettings } from './settings.ts';
import { createConnectorMetrics, type ConnectorMetrics } from './metrics.ts';
import { GuardedConnector } from './guarded-connector.ts';
import type { DeliverDeps } from './deliver.ts';
import { createDeadLetterMetrics, type DeadLetterMetrics } from '../core/dead-letters.ts';
import { RecentSends } from './recent-sends.ts';

export interface ConnectorRuntime {
  metrics: ConnectorMetrics;
  deadLetterMetrics: DeadLetterMetrics;
  connectors: Map<ExternalChannel, ChannelConnector>;
  deliverDeps: DeliverDeps;
  shutdown(): void;
}

/**
 * The connectors as a process runs them: each plug-in behind its circuit breakers and pacer,
 * and the delivery policy (retries, store-and-forward bound, in-doubt grace) from config.
 */
export function buildConnectorRuntime(
  config: Config,
  adapters: Adapters,
  logger: Logger,
  registry: Registry,
  providerBaseUrl?: string,
): ConnectorRuntime {
  const metrics = createConnectorMetrics(registry);
  const settings = connectorSettings(config, providerBaseUrl);
  const guarded = new Map<ExternalChannel, GuardedConnector>();
  for (const [channel, plugin] of buildConnectors(settings)) {
    const whatsapp = channel === 'whatsapp';
    guarded.set(
      channel,
      new GuardedConnector(plugin, {
        breaker: {
          // A little longer than the plug-in's own timeout, so the plug-in's clearer error wins.
          timeoutMs: config.providerTimeoutMs + 1000,
          errorThresholdPercentage: config.breakerErrorPercent,
          volumeThreshold: config.breakerVolumeThreshold,
          resetTimeoutMs: config.breakerResetMs,
          rollingCountTimeoutMs: config.breakerWindowMs,
        },
        pacing: whatsapp
          ? { textPerSecond: config.whatsappRatePerSender, mediaPerSecond: config.whatsappRatePerSender }
          : { textPerSecond: config.instagramTextRate, mediaPerSecond: config.instagramMediaRate },
        senderKey: whatsapp ? config.whatsappPhoneNumberId : (config.instagramAccountId ?? 'me'),
        clock: adapters.clock,
        metrics,
        logger,
      }),
    );
  }
  const connectors = guarded as Map<ExternalChannel, ChannelConnector>;
  return {
    metrics,
    deadLetterMetrics: createDeadLetterMetrics(registry),
    connectors,
    deliverDeps: {
      messages: adapters.messages,
      deliveries: adapters.deliveries,
      clock: adapters.clock,
      logger,
      metrics,
      connectors,
      files: {
        files: adapters.files,
        objects: adapters.objects,
        providerUrlTtlSeconds: config.fileProviderUrlTtlSeconds,
        linkFallbackTtlSeconds: config.fileLinkFallbackTtlSeconds,
      },
      inDoubtGraceMs: config.inDoubtGraceMs,
      inDoubtShortGraceMs: config.inDoubtShortGraceMs,
      startedAt: adapters.clock.now(),
      maxAgeMs: config.maxDeliveryAgeMs,
      backoff: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
      attempts: new Map(),
      // Shared with the status intake of this process (compose.ts).
      recentSends: new RecentSends(),
    },
    shutdown() {
      for (const g of guarded.values()) g.shutdown();
    },
  };
}

import type { Config } from '../core/config.ts';

/** The operator's choices for outbound webhooks. */
export interface WebhookSettings {
  /**
   * Allow URLs that resolve to loopback, private (RFC 1918, 100.64/10), link-local or unique-local
   * addresses. Metadata (169.254.169.254, fd00:ec2::254), unspecified and multicast addresses are refused anyway.
   * @default false
   */
  allowPrivateTargets: boolean;
  /** How long after its creation an event is retried before it is given up. @default 24 */
  retryHours: number;
  /** How long one attempt may take before it counts as failed. @default 5000 */
  timeoutMs: number;
  /** Most callbacks in flight at once for one subscriber, so a slow one cannot take every slot. @default 2 */
  perSubscriberConcurrency: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { allowPrivateTargets: false, retryHours: 24, timeoutMs: 5000, perSubscriberConcurrency: 2 };

/** The webhook settings from the platform config (WEBHOOKS_ALLOW_PRIVATE_TARGETS, WEBHOOK_RETRY_HOURS, WEBHOOK_TIMEOUT_MS, WEBHOOK_SUBSCRIBER_CONCURRENCY). */
export function webhookSettings(
  config: Pick<Config, 'webhooksAllowPrivateTargets' | 'webhookRetryHours' | 'webhookTimeoutMs' | 'webhookSubscriberConcurrency'>,
): WebhookSettings {
  return {
    allowPrivateTargets: config.webhooksAllowPrivateTargets,
    retryHours: config.webhookRetryHours,
    timeoutMs: config.webhookTimeoutMs,
    perSubscriberConcurrency: config.webhookSubscriberConcurrency,
  };
}

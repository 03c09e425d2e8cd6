import { Counter, type Registry } from 'prom-client';

/** How a provider call ended. */
export type RequestOutcome = 'accepted' | 'rejected' | 'fault_down' | 'fault_error' | 'fault_timeout';

/** What became of one webhook event (not of one HTTP attempt). */
export type WebhookResult = 'sent' | 'failed' | 'skipped';

/** The simulator's Prometheus metrics, registered on the registry given (never the global one). */
export interface SimMetrics {
  /** `provider_sim_requests_total{channel,outcome}`: provider calls by how they ended. */
  requests: Counter<'channel' | 'outcome'>;
  /** `provider_sim_webhooks_total{channel,result}`: webhook events sent (2xx), failed (gave up after every retry), skipped (no URL). */
  webhooks: Counter<'channel' | 'result'>;
  /** `provider_sim_webhook_attempts_total{channel}`: HTTP POST attempts, retries included. */
  webhookAttempts: Counter<'channel'>;
}

/** Declares the simulator's metrics on `registry`. */
export function createSimMetrics(registry: Registry): SimMetrics {
  return {
    requests: new Counter({
      name: 'provider_sim_requests_total',
      help: 'Provider API calls received by the simulator, by channel and outcome',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'provider_sim_webhooks_total',
      help: 'Webhook events the simulator emitted, by channel and result (sent, failed, skipped)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'provider_sim_webhook_attempts_total',
      help: 'Webhook HTTP POST attempts, retries included',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
  };
}

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REQUEST_BUCKETS } from '../core/metrics.ts';

/** Every metric of the webhook dispatcher, declared in one place. */
export function createWebhookMetrics(registry: Registry) {
  return {
    /** Delivery attempts by result: success (2xx), retry (will try again), failed (given up). */
    deliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result (success, retry, failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    /** Time of one delivery attempt, until the receiver's answer or the error. */
    duration: new Histogram({
      name: 'webhook_delivery_duration_seconds',
      help: 'Time of one webhook delivery attempt',
      buckets: [...REQUEST_BUCKETS, 10, 30],
      registers: [registry],
    }),
    /** Events waiting to be delivered (retries included), as of the dispatcher's last pass. */
    pending: new Gauge({
      name: 'webhook_events_pending',
      help: 'Webhook events waiting to be delivered',
      registers: [registry],
    }),
  };
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;

import { Counter, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS, REQUEST_BUCKETS } from '../core/metrics.ts';

/** Why `POST /v1/messages` refused a message (the `reason` label of `messages_rejected_total`). */
export type RejectReason =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'too_large'
  | 'unsupported_media_type'
  | 'file_not_ready'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** Every metric of the API service, registered on the registry it is given. */
export function createApiMetrics(registry: Registry) {
  return {
    /** One per answered request; `route` is the Express pattern (`/v1/messages/:id`), `unmatched` for unknown paths. */
    httpRequests: new Counter<'method' | 'route' | 'status'>({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram<'method' | 'route' | 'status'>({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to finishing its answer',
      labelNames: ['method', 'route', 'status'],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    /** One per message stored for the first time (a retry of the same message_id does not count). */
    messagesAccepted: new Counter({
      name: 'messages_accepted_total',
      help: 'Messages accepted and stored durably',
      registers: [registry],
    }),
    messagesRejected: new Counter<'reason'>({
      name: 'messages_rejected_total',
      help: 'POST /v1/messages requests refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    /** Time for the bus to take an accepted-message record (fed from sendMessage's onPublish). */
    kafkaPublishDuration: new Histogram({
      name: 'kafka_publish_duration_seconds',
      help: 'Time to publish an accepted message to the bus',
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    /** Publishes the bus refused; the message stays durable and the router's relay republishes it. */
    kafkaPublishErrors: new Counter({
      name: 'kafka_publish_errors_total',
      help: 'Publishes of accepted messages that the bus refused',
      registers: [registry],
    }),
    /** Accept → delivered time of internal deliveries (the API marks them DELIVERED when the recipient fetches); routers record the external channels. */
    deliveryLatency: new Histogram<'channel'>({
      name: 'chat4all_delivery_latency_seconds',
      help: 'Time from acceptance by the API to DELIVERED, per channel',
      labelNames: ['channel'],
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    /** Admin bootstrap attempts (`POST /v1/admin/bootstrap`) by outcome: `granted` or `refused` (wrong token). */
    adminBootstrap: new Counter<'outcome'>({
      name: 'api_admin_bootstrap_total',
      help: 'Admin bootstrap attempts with a configured ADMIN_BOOTSTRAP_TOKEN, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    /** One per request a rate limit refused (429), by limit (`LimitName`: `loginPerIp`, `sendsPerUser`, …). */
    rateLimited: new Counter<'limit'>({
      name: 'api_rate_limited_total',
      help: 'Requests refused with 429 by a rate limit, by limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** The `reason` label for an HTTP status of a refused message. */
export function rejectReason(status: number): RejectReason {
  switch (status) {
    case 400:
      return 'validation';
    case 401:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'file_not_ready';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return 'internal';
  }
}

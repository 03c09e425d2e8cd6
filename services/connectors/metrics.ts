import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS, REQUEST_BUCKETS } from '../core/metrics.ts';

/** Every metric of the connectors, declared in one place. */
export function createConnectorMetrics(registry: Registry) {
  return {
    /** Provider calls by outcome: success, retriable, permanent, skipped (already sent). */
    sent: new Counter({
      name: 'messages_sent_total',
      help: 'Deliveries handed to a provider, by channel and outcome',
      labelNames: ['channel', 'status'] as const,
      registers: [registry],
    }),
    /** Time of one provider API call. */
    apiDuration: new Histogram({
      name: 'connector_api_duration_seconds',
      help: 'Time of one provider API call, by channel and outcome',
      labelNames: ['channel', 'outcome'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    /** Sends whose outcome was in doubt after a crash or timeout: recovered from the provider's echo, or sent again. */
    ambiguous: new Counter({
      name: 'connector_in_doubt_sends_total',
      help: 'Sends whose earlier attempt had an unknown outcome, by channel and outcome (recovered, resent)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    /** Breaker state per channel and operation: 0 closed, 1 open, 2 half-open. */
    breakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state per channel and provider operation: 0 closed, 1 open, 2 half-open',
      labelNames: ['channel', 'operation'] as const,
      registers: [registry],
    }),
    /** Every breaker transition. */
    breakerTransitions: new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Circuit breaker transitions per channel and operation',
      labelNames: ['channel', 'operation', 'from', 'to'] as const,
      registers: [registry],
    }),
    /** Deliveries not yet accepted by the provider (store-and-forward backlog), per channel. */
    waiting: new Gauge({
      name: 'connector_deliveries_waiting',
      help: 'External deliveries accepted by the platform and not yet accepted by the provider, per channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** Deliveries that waited longer than the maximum age and were failed. */
    expired: new Counter({
      name: 'connector_deliveries_expired_total',
      help: 'Deliveries failed because they waited longer than the maximum age, per channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** File messages sent as a text with a download link instead of media, by reason (`over_channel_limit`). */
    mediaFallbacks: new Counter({
      name: 'connector_media_fallbacks_total',
      help: 'File messages sent as a text with a download link instead of media, by channel and reason (over_channel_limit)',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    /** Time spent waiting for the pacer (per-sender rate limit). */
    pacingWait: new Counter({
      name: 'connector_pacing_wait_seconds_total',
      help: 'Seconds provider calls waited for the per-sender rate limit, per channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** Webhooks received from providers, by result. */
    webhooks: new Counter({
      name: 'connector_webhooks_total',
      help: 'Provider webhooks received, by channel and result (ok, bad_signature, bad_request, unknown_message, inbound_not_durable)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    /** One-time identity codes (identity verification) by outcome: `sent`, `expired` on the way, `failed` at the provider. */
    identityCodes: new Counter({
      name: 'identity_codes_sent_total',
      help: 'One-time identity codes handed to a provider, by channel and outcome (sent, expired, failed)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    /**
     * Inbound events by channel, payload type and result: `accepted` (durable, new), `duplicate`
     * (a retry or a second copy of one already accepted), `failed` (not durable: the webhook
     * answered 503 and the provider retries) or `refused` (not a message we take; see the reason
     * in `inbound_refused_total`).
     */
    inbound: new Counter({
      name: 'inbound_messages_total',
      help: 'Inbound provider events, by channel, payload type and result (accepted, duplicate, failed, refused)',
      labelNames: ['channel', 'type', 'result'] as const,
      registers: [registry],
    }),
    /**
     * Inbound events acknowledged without making a message, by reason: `unknown_type`,
     * `malformed`, `system_event`, `order_not_supported`, `empty`.
     */
    inboundRefused: new Counter({
      name: 'inbound_refused_total',
      help: 'Inbound provider events acknowledged without making a message, by channel and reason',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    /**
     * Provider statuses acknowledged without being applied: `unknown_message` (no send of ours
     * matches, and the match window has passed), `unknown_status` (a status name we do not know) or
     * `identity_code` (the send of a one-time identity code, which nothing tracks).
     */
    statusUnmatched: new Counter({
      name: 'provider_status_unmatched_total',
      help: 'Provider statuses acknowledged without being applied, by channel and reason (unknown_message, unknown_status, identity_code)',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    /**
     * Inbound media by result: `stored` (fetched from the provider and stored as a ready file),
     * `reused` (a retried webhook found the file stored before), `retry` (not fetched or stored
     * now: the webhook answered 503 so the provider delivers it again), or a reason the message
     * was accepted with the provider reference kept: `too_large`, `not_found`, `bad_response`,
     * `sha256_mismatch`, `gave_up` (still failing after `INBOUND_MEDIA_ATTEMPTS` deliveries).
     */
    inboundMedia: new Counter({
      name: 'inbound_media_total',
      help: 'Inbound provider media, by channel and result (stored, reused, retry, too_large, not_found, bad_response, sha256_mismatch, gave_up)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    /** Bytes of inbound media fetched from providers and stored as files. */
    inboundMediaBytes: new Counter({
      name: 'inbound_media_bytes_total',
      help: 'Bytes of inbound provider media stored as files, by channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** Provider statuses applied where they arrive (the routers record the gateways' statuses under the same name). */
    statusEvents: new Counter({
      name: 'status_events_total',
      help: 'Status events handled: applied, ignored (would move backwards or repeat) or unknown (no such delivery)',
      labelNames: ['status', 'result'] as const,
      registers: [registry],
    }),
    /** Accept → DELIVERED time of external deliveries, from the providers' status webhooks. */
    deliveryLatency: new Histogram({
      name: 'chat4all_delivery_latency_seconds',
      help: 'Time from acceptance by the API to DELIVERED, per channel',
      labelNames: ['channel'] as const,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    /** Time of the one store call that applies a webhook's statuses. */
    statusApplyDuration: new Histogram({
      name: 'connector_status_apply_duration_seconds',
      help: "Time of the one store call that applies a provider webhook's statuses",
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
  };
}

export type ConnectorMetrics = ReturnType<typeof createConnectorMetrics>;

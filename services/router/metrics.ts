import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS, REQUEST_BUCKETS } from '../core/metrics.ts';

/** Every metric of the router, declared in one place. */
export function createRouterMetrics(registry: Registry) {
  return {
    /** Accepted messages handled, by outcome: routed, duplicate (already routed), missing, failed. */
    processed: new Counter({
      name: 'messages_processed_total',
      help: 'Accepted messages the router handled, by outcome',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    /** Time to route one accepted message (read, order, plan, write, dispatch). */
    processingDuration: new Histogram({
      name: 'processing_duration_seconds',
      help: 'Time to route one accepted message',
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    /**
     * How long routing one message waited for an inbound message to become ready
     * (`INBOUND_REORDER_WINDOW_MS`), observed when it waited at all.
     */
    inboundHold: new Histogram({
      name: 'router_inbound_hold_seconds',
      help: 'Time routing a message waited for the inbound reorder window, when it waited',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    /** Time of one store write by the router. */
    storeWriteDuration: new Histogram({
      name: 'store_write_duration_seconds',
      help: 'Time of one store write by the router, by operation',
      labelNames: ['operation'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    /** Status events applied or ignored (ignored: would move backwards or repeat). */
    statusEvents: new Counter({
      name: 'status_events_total',
      help: 'Status events handled by the router, by status and result',
      labelNames: ['status', 'result'] as const,
      registers: [registry],
    }),
    /** Accept → delivered time, per channel. */
    deliveryLatency: new Histogram({
      name: 'chat4all_delivery_latency_seconds',
      help: 'Time from acceptance by the API to DELIVERED, per channel',
      labelNames: ['channel'] as const,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    /** Messages and deliveries the outbox relay published again. */
    relayRepublished: new Counter({
      name: 'relay_republished_total',
      help: 'Records the outbox relay published again because they were not handled in time, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    /** Old records the relay left alone because they still wait in the bus for their consumer. */
    relaySkippedQueued: new Counter({
      name: 'relay_skipped_queued_total',
      help: 'Unhandled records old enough to relay that the relay left alone because their consumer group has not reached them yet',
      registers: [registry],
    }),
    /** Deliveries handed to connectors, per channel. */
    dispatched: new Counter({
      name: 'deliveries_dispatched_total',
      help: 'External deliveries handed to a connector topic, per channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** Partitions this router holds, per topic (changes on every rebalance). */
    assignedPartitions: new Gauge({
      name: 'kafka_consumer_assigned_partitions',
      help: 'Partitions assigned to this consumer, per topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    /** Rebalances this router took part in. */
    rebalances: new Counter({
      name: 'kafka_consumer_rebalances_total',
      help: 'Group rebalances this consumer took part in',
      registers: [registry],
    }),
    /** Accepted messages waiting for the router (the relay's view of the outbox). */
    unrouted: new Gauge({
      name: 'outbox_unrouted_messages',
      help: 'Accepted messages older than the relay age that no router has ordered yet',
      registers: [registry],
    }),
  };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

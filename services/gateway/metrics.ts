import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS } from '../core/metrics.ts';

/** Every metric of the push gateway, declared in one place. */
export function createGatewayMetrics(registry: Registry) {
  const metrics = {
    /** WebSocket connections authenticated and open now. */
    connectedClients: new Gauge({
      name: 'gateway_connected_clients',
      help: 'Authenticated WebSocket connections open on this gateway',
      registers: [registry],
    }),
    /** Frames written to clients, by frame type (its rate is the events pushed per second). */
    eventsPushed: new Counter({
      name: 'gateway_events_pushed_total',
      help: 'Frames written to clients, by frame type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    /** Routed (the router or the typing gateway stamped it) → the frame written to the client's socket. */
    pushLatency: new Histogram({
      name: 'gateway_push_latency_seconds',
      help: 'Time from the router publishing an event to its frame being written to the client socket, by frame type',
      labelNames: ['type'] as const,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    /** Replays from the store: `recovered` (on resume), `too_old` (beyond the replay limit), `gap` (a missed live event filled in). */
    replays: new Counter({
      name: 'gateway_replays_total',
      help: 'Replays of a conversation from the store, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    /** Messages sent from the store rather than live. */
    replayedMessages: new Counter({
      name: 'gateway_replayed_messages_total',
      help: 'Messages pushed from the store by replays',
      registers: [registry],
    }),
    /** Connections closed with 4429 because their send queue overflowed. */
    slowClientDisconnects: new Counter({
      name: 'gateway_slow_client_disconnects_total',
      help: 'Connections closed with 4429 because the client read too slowly',
      registers: [registry],
    }),
    /** Connections closed, by close code (4401, 4408, 4400, 4429, 1000, 1001, 1006, …). */
    closes: new Counter({
      name: 'gateway_connections_closed_total',
      help: 'WebSocket connections closed, by close code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    /** 1 while the realtime topic is not fetched: nobody is connected to this gateway (`RealtimeFeed`). */
    realtimePaused: new Gauge({
      name: 'gateway_realtime_paused',
      help: '1 while this gateway does not fetch the realtime topic because nobody is connected to it',
      registers: [registry],
    }),
    /** Realtime records skipped without decoding: they name no user connected to this gateway (`members` header). */
    realtimeSkipped: new Counter({
      name: 'gateway_realtime_records_skipped_total',
      help: 'Realtime records skipped undecoded because they name no user connected to this gateway',
      registers: [registry],
    }),
    /** Users online in this gateway's merged presence view (all gateways). */
    presenceOnline: new Gauge({
      name: 'gateway_presence_online_users',
      help: 'Users online in the merged presence view of every gateway',
      registers: [registry],
    }),
  };
  // Pushed types exist from the start (zero buckets), so dashboards and rate() see them before the first push.
  for (const type of ['message.created', 'message.status', 'typing']) metrics.pushLatency.zero({ type });
  return metrics;
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

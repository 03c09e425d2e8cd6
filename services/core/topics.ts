import type { ExternalChannel } from './domain/types.ts';

/** Every topic of the platform, in one place. Records are keyed by conversation id. */
export const TOPICS = {
  /** Messages the API accepted, to be ordered and routed. */
  accepted: 'chat4all.messages.accepted',
  /** Status events from connectors and the API, applied by routers. */
  status: 'chat4all.status.events',
  /** Records nothing could process, with the reason. */
  deadLetter: 'chat4all.deadletter',
  /**
   * What push gateways forward to connected people: messages routed, statuses applied, typing
   * (records of `realtime-events.ts`, keyed by conversation). Every gateway reads all of it.
   */
  realtime: 'chat4all.realtime.events',
  /** Push gateways' presence heartbeats (`presenceRecordSchema`), keyed by gateway. */
  presence: 'chat4all.presence',
} as const;

/** The consumer groups of the platform. */
export const GROUPS = {
  /** Routers: accepted messages. */
  router: 'chat4all-router',
  /** Routers: status events. */
  status: 'chat4all-status',
} as const;

/**
 * The consumer group of one push gateway process: its own, so that every gateway receives every
 * realtime and presence record (a new group per process start: it reads from "now").
 */
export const gatewayGroup = (instance: string) => `chat4all-gateway-${instance}`;

/** The consumer group of one channel's connectors. */
export const connectorGroup = (channel: ExternalChannel) => `chat4all-connector-${channel}`;

/** The topic of deliveries waiting for one channel's connector. */
export const deliveryTopic = (channel: ExternalChannel) => `chat4all.deliveries.${channel}`;

/** Every topic with its partition count. */
export function topicLayout(partitions: number, channels: readonly ExternalChannel[]) {
  return [
    { name: TOPICS.accepted, partitions },
    { name: TOPICS.status, partitions },
    { name: TOPICS.deadLetter, partitions: 1 },
    { name: TOPICS.realtime, partitions },
    { name: TOPICS.presence, partitions },
    ...channels.map((c) => ({ name: deliveryTopic(c), partitions })),
  ];
}

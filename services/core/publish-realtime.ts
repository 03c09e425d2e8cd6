import type { Bus, OutgoingRecord } from './ports/bus.ts';
import type { Clock } from './ports/clock.ts';
import type { Delivery, Message, StatusEvent } from './domain/types.ts';
import { TOPICS } from './topics.ts';
import type { MessageCreatedEvent, MessageStatusEvent, RealtimeEvent } from './realtime-events.ts';

/**
 * The header of a realtime record naming, as a JSON array, the users it may be pushed to: a
 * gateway holding none of them skips the record without decoding it. Left out for a conversation
 * of more than `MEMBERS_HEADER_MAX` members (the value says it all, the header would double the
 * record); a record without it is decoded by every gateway, as before.
 */
export const MEMBERS_HEADER = 'members';
/** The most members named in a realtime record's `members` header. */
export const MEMBERS_HEADER_MAX = 64;

/** A realtime event as a record: keyed by its conversation, its users in the `members` header. */
export function realtimeRecord(event: RealtimeEvent, headers: Record<string, string> = {}): OutgoingRecord {
  const users = event.type === 'message.created' ? event.members.map((m) => m.user_id) : event.members;
  const out = users.length <= MEMBERS_HEADER_MAX ? { ...headers, [MEMBERS_HEADER]: JSON.stringify(users) } : headers;
  return { key: event.conversation_id, value: JSON.stringify(event), headers: out };
}

/**
 * Tells the push gateways about a routed message: one record for the whole conversation, naming
 * each member with its `internal` delivery. Published on every routing, a repeated one too (the
 * record of a first routing may have been lost with a crash): gateways drop a seq they already
 * pushed, so a repeat costs a record, never a duplicate frame.
 */
export async function publishMessageCreated(deps: { bus: Bus; clock: Clock }, message: Message & { seq: number }, members: string[], deliveries: Delivery[]): Promise<void> {
  const inApp = new Map(deliveries.filter((d) => d.channel === 'internal').map((d) => [d.recipient_id, d.delivery_id]));
  const event: MessageCreatedEvent = {
    type: 'message.created',
    conversation_id: message.conversation_id,
    message_id: message.message_id,
    seq: message.seq,
    sender_id: message.sender_id,
    payload: message.payload,
    created_at: message.created_at,
    routed_at: deps.clock.now(),
    members: members.map((user_id) => ({ user_id, delivery_id: inApp.get(user_id) ?? null })),
  };
  await deps.bus.publish(TOPICS.realtime, [realtimeRecord(event, { trace_id: message.trace_id })]);
}

/** Tells the push gateways about a status a router (or the API, for its own in-app reads) applied, for every member of the conversation. */
export async function publishStatusChanged(deps: { bus: Bus; clock: Clock }, delivery: Delivery, event: StatusEvent, members: string[]): Promise<void> {
  const record = statusChangedRecord(deps.clock, delivery, event, members);
  await deps.bus.publish(TOPICS.realtime, [realtimeRecord(record)]);
}

/** The realtime event of an applied status, for callers that publish several in one produce (a provider webhook's statuses; `realtimeRecord` makes it a record). */
export function statusChangedRecord(clock: Clock, delivery: Delivery, event: StatusEvent, members: string[]): MessageStatusEvent {
  return {
    type: 'message.status',
    conversation_id: delivery.conversation_id,
    message_id: delivery.message_id,
    recipient_id: delivery.recipient_id,
    channel: delivery.channel,
    status: event.status,
    at: event.at,
    routed_at: clock.now(),
    members,
  };
}

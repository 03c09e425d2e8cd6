import type { Bus } from './ports/bus.ts';
import type { Clock } from './ports/clock.ts';
import type { Delivery, Message, StatusEvent } from './domain/types.ts';
import { TOPICS } from './topics.ts';
import type { MessageCreatedEvent, MessageStatusEvent } from './realtime-events.ts';

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
  await deps.bus.publish(TOPICS.realtime, [{ key: message.conversation_id, value: JSON.stringify(event), headers: { trace_id: message.trace_id } }]);
}

/** Tells the push gateways about a status a router (or the API, for its own in-app reads) applied, for every member of the conversation. */
export async function publishStatusChanged(deps: { bus: Bus; clock: Clock }, delivery: Delivery, event: StatusEvent, members: string[]): Promise<void> {
  const record = statusChangedRecord(deps.clock, delivery, event, members);
  await deps.bus.publish(TOPICS.realtime, [{ key: delivery.conversation_id, value: JSON.stringify(record) }]);
}

/** The realtime record of an applied status, for callers that publish several in one produce (a provider webhook's statuses). */
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

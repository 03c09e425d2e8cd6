import type { Channel, Conversation, Delivery, DeliveryFallback, DeliveryStatus, HistoryEntry, Message, User } from '../../domain/types.ts';
import type { DeadLetter } from '../../ports/dead-letter-store.ts';
import type { HistoryRecord, Webhook, WebhookAttempt, WebhookAttemptRecord, WebhookEvent, WebhookEventStatus } from '../../ports/webhook-store.ts';

/** A row as better-sqlite3 returns it. */
export type Row = Record<string, unknown>;

const json = (v: unknown) => (v ? JSON.parse(v as string) : null);
const orNull = <T>(v: unknown) => (v as T | null | undefined) ?? null;

/** JSON text for a column that may be empty. */
export const jsonOrNull = (v: unknown): string | null => (v ? JSON.stringify(v) : null);

export const toUser = (r: Row): User => ({
  user_id: r.user_id as string,
  username: r.username as string,
  email: orNull<string>(r.email),
  role: r.role as User['role'],
  created_at: r.created_at as string,
});

export const toConversation = (r: Row, members: string[]): Conversation => ({
  conversation_id: r.conversation_id as string,
  type: r.type as Conversation['type'],
  name: orNull<string>(r.name),
  metadata: json(r.metadata),
  created_at: r.created_at as string,
  members,
});

export const toMessage = (r: Row): Message => ({
  message_id: r.message_id as string,
  conversation_id: r.conversation_id as string,
  sender_id: r.sender_id as string,
  payload: JSON.parse(r.payload as string),
  channels: JSON.parse(r.channels as string),
  metadata: json(r.metadata),
  body_hash: r.body_hash as string,
  trace_id: r.trace_id as string,
  created_at: r.created_at as string,
  seq: orNull<number>(r.seq),
});

export const toDelivery = (r: Row): Delivery => ({
  delivery_id: r.delivery_id as string,
  message_id: r.message_id as string,
  conversation_id: r.conversation_id as string,
  recipient_id: r.recipient_id as string,
  channel: r.channel as Channel,
  address: orNull<string>(r.address),
  status: r.status as DeliveryStatus,
  provider_message_id: orNull<string>(r.provider_message_id),
  error: json(r.error),
  updated_at: r.updated_at as string,
  in_flight_since: orNull<string>(r.in_flight_since),
  next_attempt_at: orNull<string>(r.next_attempt_at),
});

/** A row of `history` (a delivery's status change) as a history entry. */
export const toHistoryEntry = (h: Row): HistoryEntry => ({
  status: h.status as DeliveryStatus,
  at: h.at as string,
  recipient_id: h.recipient_id as string,
  channel: h.channel as Channel,
  delivery_id: h.delivery_id as string,
  ...(h.error ? { error: JSON.parse(h.error as string) } : {}),
});

/** A row of `delivery_notes` (a fallback noted for a delivery) as a history entry. */
export const toNoteEntry = (n: Row): HistoryEntry => {
  const note = JSON.parse(n.note as string) as DeliveryFallback;
  return {
    status: n.status as DeliveryStatus,
    at: n.at as string,
    recipient_id: n.recipient_id as string,
    channel: n.channel as Channel,
    delivery_id: n.delivery_id as string,
    fallback: note.fallback,
    reason: note.reason,
  };
};

export const toDeadLetter = (r: Row): DeadLetter => ({
  id: r.id as string,
  reason: r.reason as string,
  topic: r.topic as string,
  partition: r.partition as number,
  offset: r.offset as string,
  key: r.key as string,
  value: r.value as string,
  headers: JSON.parse(r.headers as string),
  first_seen: r.first_seen as string,
  status: r.status as DeadLetter['status'],
  updated_at: r.updated_at as string,
});

export const toWebhook = (r: Row): Webhook => ({
  webhook_id: r.webhook_id as string,
  owner_id: r.owner_id as string,
  url: r.url as string,
  events: JSON.parse(r.events as string),
  secret: r.secret as string,
  created_at: r.created_at as string,
  start_after: r.start_after as number,
});

/** A history row joined with its message's sender and conversation. */
export const toHistoryRecord = (r: Row): HistoryRecord => ({
  id: r.id as number,
  message_id: r.message_id as string,
  conversation_id: r.conversation_id as string,
  sender_id: r.sender_id as string,
  delivery_id: orNull<string>(r.delivery_id),
  recipient_id: orNull<string>(r.recipient_id),
  channel: orNull<string>(r.channel),
  status: r.status as DeliveryStatus,
  at: r.at as string,
  error: json(r.error),
});

export const toWebhookEvent = (r: Row): WebhookEvent => ({
  event_id: r.event_id as string,
  webhook_id: r.webhook_id as string,
  type: r.type as string,
  message_id: r.message_id as string,
  seq: r.seq as number,
  body: r.body as string,
  created_at: r.created_at as string,
  status: r.status as WebhookEventStatus,
  attempts: r.attempts as number,
  next_attempt_at: r.next_attempt_at as number,
  deadline: r.deadline as number,
  lease_until: orNull<number>(r.lease_until),
});

/** An attempt row joined with its event's type and message. */
export const toWebhookAttemptRecord = (r: Row): WebhookAttemptRecord => ({
  event_id: r.event_id as string,
  webhook_id: r.webhook_id as string,
  attempt: r.attempt as number,
  type: r.type as string,
  message_id: r.message_id as string,
  at: r.at as string,
  status_code: orNull<number>(r.status_code),
  error: orNull<string>(r.error),
  duration_ms: r.duration_ms as number,
  result: r.result as WebhookAttempt['result'],
});

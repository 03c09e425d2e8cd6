import type {
  Channel,
  Conversation,
  Delivery,
  DeliveryError,
  DeliveryFallback,
  DeliveryStatus,
  ExternalChannel,
  HistoryEntry,
  Identity,
  Message,
  User,
} from '../../domain/types.ts';
import type { DeadLetter } from '../../ports/dead-letter-store.ts';
import type { NewUser } from '../../ports/user-store.ts';
import type { HistoryRecord, Webhook, WebhookAttempt, WebhookAttemptRecord, WebhookEvent, WebhookEventStatus } from '../../ports/webhook-store.ts';
import type { CqlRow } from './session.ts';
import { json, num, parse, str } from './values.ts';

// Rows ↔ domain objects, for every table the stores read a whole object from.

/** A message as stored: the domain message plus its acceptance order. */
export interface StoredMessage extends Message {
  /** Acceptance order within the store (a time-ordered id). */
  accepted: number;
}

/** The static columns of a message partition, in `CQL.insertMessage` order (without `accepted`). */
export function messageRow(m: Omit<Message, 'seq'> & { seq?: number | null }): CqlRow {
  return {
    message_id: m.message_id,
    conversation_id: m.conversation_id,
    sender_id: m.sender_id,
    payload: JSON.stringify(m.payload),
    channels: JSON.stringify(m.channels),
    metadata: m.metadata ? JSON.stringify(m.metadata) : null,
    body_hash: m.body_hash,
    trace_id: m.trace_id,
    created_at: m.created_at,
    seq: m.seq ?? null,
  };
}

export function toMessage(r: CqlRow): Message {
  return {
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    sender_id: String(r.sender_id),
    payload: parse<Message['payload']>(r.payload)!,
    channels: parse<string[]>(r.channels) ?? [],
    metadata: parse<Record<string, unknown>>(r.metadata),
    body_hash: String(r.body_hash),
    trace_id: String(r.trace_id),
    created_at: String(r.created_at),
    seq: num(r.seq),
  };
}

/** A message row with its acceptance order. */
export const toStoredMessage = (r: CqlRow): StoredMessage => ({ ...toMessage(r), accepted: num(r.accepted) ?? 0 });

/** A delivery as stored: the domain delivery plus where its row is and its bookkeeping. */
export interface StoredDelivery extends Delivery {
  ord: number;
  seq: number | null;
  /** When it was created (routed). */
  at: string;
  attempts: number;
}

/** A delivery row of the `messages` table (kind 'd'), keyed by `item` = delivery_id. */
export function deliveryRow(d: Delivery & { ord: number; at: string; attempts?: number; seq?: number | null }): CqlRow {
  return {
    message_id: d.message_id,
    ord: d.ord,
    item: d.delivery_id,
    conversation_id: d.conversation_id,
    seq: d.seq ?? null,
    recipient_id: d.recipient_id,
    channel: d.channel,
    address: d.address,
    status: d.status,
    provider_message_id: d.provider_message_id,
    error: json(d.error),
    at: d.at,
    updated_at: d.updated_at,
    in_flight_since: d.in_flight_since,
    next_attempt_at: d.next_attempt_at,
    attempts: d.attempts ?? 0,
  };
}

export function toDelivery(r: CqlRow): Delivery {
  return {
    delivery_id: String(r.item),
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    recipient_id: String(r.recipient_id),
    channel: r.channel as Channel,
    address: str(r.address),
    status: r.status as DeliveryStatus,
    provider_message_id: str(r.provider_message_id),
    error: parse<DeliveryError>(r.error),
    updated_at: String(r.updated_at),
    in_flight_since: str(r.in_flight_since),
    next_attempt_at: str(r.next_attempt_at),
  };
}

/** A delivery row with its place and bookkeeping. */
export const toStoredDelivery = (r: CqlRow): StoredDelivery => ({
  ...toDelivery(r),
  ord: num(r.ord) ?? 0,
  seq: num(r.seq),
  at: String(r.at),
  attempts: num(r.attempts) ?? 0,
});

/** The delivery as the port gives it (without the row's bookkeeping). */
export const publicDelivery = ({ ord: _o, seq: _s, at: _a, attempts: _n, ...d }: StoredDelivery): Delivery => d;

/** A history row of the `messages` table (kind 'h', ord = history id). */
export interface StoredHistory {
  hid: number;
  delivery_id: string;
  recipient_id: string;
  channel: Channel;
  status: DeliveryStatus;
  at: string;
  error: DeliveryError | null;
}

export function historyRow(h: StoredHistory): CqlRow {
  return { ord: h.hid, item: h.delivery_id, recipient_id: h.recipient_id, channel: h.channel, status: h.status, at: h.at, error: json(h.error) };
}

export function toStoredHistory(r: CqlRow): StoredHistory {
  return {
    hid: num(r.ord) ?? 0,
    delivery_id: String(r.item),
    recipient_id: String(r.recipient_id),
    channel: r.channel as Channel,
    status: r.status as DeliveryStatus,
    at: String(r.at),
    error: parse<DeliveryError>(r.error),
  };
}

export function toHistoryEntry(h: StoredHistory): HistoryEntry {
  const e: HistoryEntry = { status: h.status, at: h.at, recipient_id: h.recipient_id, channel: h.channel, delivery_id: h.delivery_id };
  if (h.error) e.error = h.error;
  return e;
}

/** A row of `delivery_notes` (a fallback noted for a delivery), with its time-based id. */
export function toNoteEntry(r: CqlRow): HistoryEntry & { hid: number } {
  const note = parse<DeliveryFallback>(r.note);
  return {
    hid: num(r.hid) ?? 0,
    status: r.status as DeliveryStatus,
    at: String(r.at),
    recipient_id: String(r.recipient_id),
    channel: r.channel as Channel,
    delivery_id: String(r.delivery_id),
    ...(note ? { fallback: note.fallback, reason: note.reason } : {}),
  };
}

export function userRow(u: NewUser): CqlRow {
  return {
    user_id: u.user_id,
    username: u.username,
    password_hash: u.password_hash,
    email: u.email ?? null,
    user_role: u.role ?? 'user',
    created_at: u.created_at,
  };
}

export function toUser(r: CqlRow): User & { password_hash: string } {
  return {
    user_id: String(r.user_id),
    username: String(r.username),
    password_hash: String(r.password_hash),
    email: str(r.email),
    role: (r.user_role ?? 'user') as User['role'],
    created_at: String(r.created_at),
  };
}

/** The user as the port gives it (without the password hash). */
export const publicUser = ({ password_hash: _p, ...u }: User & { password_hash: string }): User => u;

export function toIdentity(r: CqlRow): Identity {
  return { user_id: String(r.user_id), channel: r.channel as ExternalChannel, address: String(r.address), linked_at: String(r.linked_at) };
}

export function conversationRow(c: Conversation): CqlRow {
  return {
    conversation_id: c.conversation_id,
    conversation_type: c.type,
    name: c.name,
    metadata: c.metadata ? JSON.stringify(c.metadata) : null,
    created_at: c.created_at,
  };
}

export function toConversation(r: CqlRow, members: string[]): Conversation {
  return {
    conversation_id: String(r.conversation_id),
    type: r.conversation_type as Conversation['type'],
    name: str(r.name),
    metadata: parse<Record<string, unknown>>(r.metadata),
    created_at: String(r.created_at),
    members,
  };
}

export function deadLetterRow(l: DeadLetter): CqlRow {
  return {
    id: l.id,
    reason: l.reason,
    source_topic: l.topic,
    source_partition: l.partition,
    source_offset: l.offset,
    record_key: l.key,
    record_value: l.value,
    headers: JSON.stringify(l.headers),
    first_seen: l.first_seen,
    status: l.status,
    updated_at: l.updated_at,
  };
}

export function toDeadLetter(r: CqlRow): DeadLetter {
  return {
    id: String(r.id),
    reason: String(r.reason),
    topic: String(r.source_topic),
    partition: num(r.source_partition) ?? 0,
    offset: String(r.source_offset),
    key: String(r.record_key ?? ''),
    value: String(r.record_value ?? ''),
    headers: parse<Record<string, string>>(r.headers) ?? {},
    first_seen: String(r.first_seen),
    status: r.status as DeadLetter['status'],
    updated_at: String(r.updated_at),
  };
}

export function webhookRow(w: Webhook): CqlRow {
  return { ...w, events: JSON.stringify(w.events) };
}

export function toWebhook(r: CqlRow): Webhook {
  return {
    webhook_id: String(r.webhook_id),
    owner_id: String(r.owner_id),
    url: String(r.url),
    events: parse<string[]>(r.events) ?? [],
    secret: String(r.secret),
    created_at: String(r.created_at),
    start_after: num(r.start_after) ?? 0,
  };
}

/** A webhook event as stored: no lease is 0 (so that a lease can be taken with one `IF lease_until < now`). */
export function webhookEventRow(e: WebhookEvent & { attempt_ids?: number[] }): CqlRow {
  return {
    event_id: e.event_id,
    webhook_id: e.webhook_id,
    event_type: e.type,
    message_id: e.message_id,
    seq: e.seq,
    body: e.body,
    created_at: e.created_at,
    status: e.status,
    attempts: e.attempts,
    next_attempt_at: e.next_attempt_at,
    deadline: e.deadline,
    lease_until: e.lease_until ?? 0,
    attempt_ids: JSON.stringify(e.attempt_ids ?? []),
  };
}

export function toWebhookEvent(r: CqlRow): WebhookEvent & { attempt_ids: number[] } {
  const lease = num(r.lease_until) ?? 0;
  return {
    event_id: String(r.event_id),
    webhook_id: String(r.webhook_id),
    type: String(r.event_type),
    message_id: String(r.message_id),
    seq: num(r.seq) ?? 0,
    body: String(r.body),
    created_at: String(r.created_at),
    status: r.status as WebhookEventStatus,
    attempts: num(r.attempts) ?? 0,
    next_attempt_at: num(r.next_attempt_at) ?? 0,
    deadline: num(r.deadline) ?? 0,
    lease_until: lease === 0 ? null : lease,
    attempt_ids: parse<number[]>(r.attempt_ids) ?? [],
  };
}

/** The event as the port gives it (without the ids of its attempts). */
export const publicEvent = ({ attempt_ids: _a, ...e }: WebhookEvent & { attempt_ids: number[] }): WebhookEvent => e;

export function toAttemptRecord(r: CqlRow): WebhookAttemptRecord {
  return {
    event_id: String(r.event_id),
    webhook_id: String(r.webhook_id),
    attempt: num(r.attempt) ?? 1,
    type: String(r.event_type),
    message_id: String(r.message_id),
    at: String(r.at),
    status_code: num(r.status_code),
    error: str(r.error),
    duration_ms: num(r.duration_ms) ?? 0,
    result: r.result as WebhookAttempt['result'],
  };
}

/** A row of the history feed. */
export function toHistoryRecord(r: CqlRow): HistoryRecord {
  return {
    id: num(r.hid)!,
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    sender_id: String(r.sender_id),
    delivery_id: str(r.delivery_id),
    recipient_id: str(r.recipient_id),
    channel: str(r.channel),
    status: r.status as DeliveryStatus,
    at: String(r.at),
    error: parse<DeliveryError>(r.error),
  };
}

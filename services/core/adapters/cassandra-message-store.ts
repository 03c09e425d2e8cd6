import { randomInt, randomUUID } from 'node:crypto';
import { Client, types } from 'cassandra-driver';
import { canTransition } from '../domain/status.ts';
import type {
  Channel,
  Conversation,
  Delivery,
  DeliveryError,
  DeliveryStatus,
  ExternalChannel,
  HistoryEntry,
  Identity,
  Message,
  StatusEvent,
  User,
} from '../domain/types.ts';
import type { PlannedDelivery } from '../domain/routing.ts';
import { AppError, conflict, notFound, unavailable } from '../errors.ts';
import type { DeadLetter } from '../dead-letters.ts';
import type { AcceptResult, RouteResult } from '../ports/message-store.ts';
import type { ApplyResult } from '../ports/delivery-store.ts';
import type { ClaimFairness, HistoryRecord, NewWebhook, NewWebhookEvent, Webhook, WebhookAttempt, WebhookAttemptRecord, WebhookEvent, WebhookEventStatus } from '../ports/webhook-store.ts';
import type { LegacyStore as MessageStore } from '../ports/legacy-store.ts';
import type { NewUser } from '../ports/user-store.ts';
import { HISTORY_FEED_TTL_SECONDS, TABLES, keyspaceCql, tableName, type Replication } from './cassandra-schema.ts';

// ---------------------------------------------------------------- the driver, seen through a narrow port

export type CqlRow = Record<string, unknown>;

export interface CqlOptions {
  prepare: boolean;
  consistency: number;
  serialConsistency?: number;
  fetchSize?: number;
  pageState?: string;
  logged?: boolean;
}

export interface CqlResult {
  rows: CqlRow[];
  /** Set when more rows follow (paged reads). */
  pageState?: string | null;
  /** For a lightweight transaction: whether its condition held (the `[applied]` column). */
  wasApplied(): boolean;
}

/** What the store needs of a CQL connection: the driver's `Client` in production, an emulator in unit tests. */
export interface CqlSession {
  execute(query: string, params: unknown[], options: CqlOptions): Promise<CqlResult>;
  batch(queries: { query: string; params: unknown[] }[], options: CqlOptions): Promise<CqlResult>;
  shutdown(): Promise<void>;
}

const LOCAL_QUORUM = types.consistencies.localQuorum;
const LOCAL_SERIAL = types.consistencies.localSerial;

// ---------------------------------------------------------------- ids, buckets, shards

/** History ids (and other time-ordered ids) are epoch ms × 1024 plus a per-process counter. */
export const IDS_PER_MS = 1024;
/** Width of one time bucket of the queue tables and the history feed. */
export const BUCKET_MS = 60_000;
/** Partitions per bucket, so one minute's writes spread over several replicas. */
export const SHARDS = 4;
/** A bucket is forgotten this long after it ended, once empty (longer than any write in flight). */
export const RETIRE_MARGIN_MS = 10 * 60_000;
/** Buckets of the history feed one `historyForWebhooks` call walks at most (an hour). */
const MAX_FEED_BUCKETS = 60;
/** Attempts of a compare-and-set loop before giving up with a retriable error. */
const CAS_ATTEMPTS = 32;

/** Time-ordered ids that are unique within a process and, with high probability, across processes. */
export class TimeIds {
  private last = 0;
  constructor(private readonly now: () => number) {}
  next(): number {
    // A random start within the millisecond keeps two processes apart; +1 keeps one process monotonic.
    this.last = Math.max(this.last + 1, this.now() * IDS_PER_MS + randomInt(0, IDS_PER_MS / 2));
    return this.last;
  }
}

/** The smallest id made at `ms`. */
export const idAt = (ms: number) => ms * IDS_PER_MS;

/** FNV-1a: a stable shard for an id. */
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SHARDS;
}

export const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS);

/** A sort key of a queue table with the time it stands for. */
export interface SortKey {
  key: string;
  ms: number;
}

/** ISO times sort as text (they all have the same width), as in the SQLite store. */
export function isoKey(iso: string): SortKey {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new AppError('invalid_time', `not an ISO time: ${iso}`);
  return { key: iso, ms };
}

/** Epoch ms as a fixed-width text key. */
export const msKey = (ms: number): SortKey => ({ key: String(ms).padStart(16, '0'), ms });

/** The time a stored sort key stands for (either form). */
export const sortKeyOf = (key: string): SortKey => (/^\d{16}$/.test(key) ? msKey(Number(key)) : isoKey(key));

/** A bigint, int or count from the driver (a `Long`, a `bigint` or a number) as a number. */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | null => (v === null || v === undefined || v === '' ? null : (JSON.parse(String(v)) as T));

// ---------------------------------------------------------------- statements

const MESSAGE_COLUMNS =
  'message_id, conversation_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at, accepted, seq, routed_at';
const DELIVERY_COLUMNS =
  'message_id, ord, item, conversation_id, seq, recipient_id, channel, address, status, provider_message_id, error, at, updated_at, in_flight_since, next_attempt_at, attempts';
const DELIVERY_KEY = "message_id = ? AND kind = 'd' AND ord = ? AND item = ?";
const DEAD_LETTER_COLUMNS =
  'id, reason, source_topic, source_partition, source_offset, record_key, record_value, headers, first_seen, status, updated_at';
const EVENT_COLUMNS =
  'event_id, webhook_id, event_type, message_id, seq, body, created_at, status, attempts, next_attempt_at, deadline, lease_until, attempt_ids';
const FEED_COLUMNS = 'hid, delivery_id, message_id, conversation_id, sender_id, recipient_id, channel, status, at, error';

/** Every CQL statement the store runs (all prepared). Tests check each against the schema. */
export const CQL = {
  health: 'SELECT release_version FROM system.local',
  tables: 'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?',

  insertUser: 'INSERT INTO users (user_id, username, password_hash, email, user_role, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  deleteUser: 'DELETE FROM users WHERE user_id = ?',
  user: 'SELECT user_id, username, password_hash, email, user_role, created_at FROM users WHERE user_id = ?',
  claimUsername: 'INSERT INTO users_by_name (username, user_id) VALUES (?, ?) IF NOT EXISTS',
  userIdByName: 'SELECT user_id FROM users_by_name WHERE username = ?',

  claimAddress: 'INSERT INTO identities (channel, address, user_id, linked_at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  identity: 'SELECT channel, address, user_id, linked_at FROM identities WHERE channel = ? AND address = ?',
  releaseAddress: 'DELETE FROM identities WHERE channel = ? AND address = ? IF user_id = ?',
  insertIdentityByUser: 'INSERT INTO identities_by_user (user_id, channel, address, linked_at) VALUES (?, ?, ?, ?)',
  identitiesByUser: 'SELECT user_id, channel, address, linked_at FROM identities_by_user WHERE user_id = ?',
  deleteIdentityByUser: 'DELETE FROM identities_by_user WHERE user_id = ? AND channel = ? AND address = ?',

  insertConversation:
    'INSERT INTO conversations (conversation_id, conversation_type, name, metadata, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
  conversation: 'SELECT conversation_id, conversation_type, name, metadata, created_at FROM conversations WHERE conversation_id = ?',
  // Members are only ever written with IF NOT EXISTS (a member's joining time and place never change).
  addMember: 'INSERT INTO conversation_members (conversation_id, user_id, joined_at, pos) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  members: 'SELECT user_id, pos FROM conversation_members WHERE conversation_id = ?',
  insertConversationByUser: 'INSERT INTO conversations_by_user (user_id, conversation_id) VALUES (?, ?)',
  conversationsByUser: 'SELECT conversation_id FROM conversations_by_user WHERE user_id = ?',

  sequence: 'SELECT last_seq, claim_message_id, claim FROM conversation_sequence WHERE conversation_id = ?',
  firstClaim: 'INSERT INTO conversation_sequence (conversation_id, last_seq, claim_message_id, claim) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  nextClaim: 'UPDATE conversation_sequence SET last_seq = ?, claim_message_id = ?, claim = ? WHERE conversation_id = ? IF last_seq = ?',

  insertMessage:
    'INSERT INTO messages (message_id, conversation_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at, accepted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  message: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE message_id = ? LIMIT 1`,
  setSeq: 'UPDATE messages SET seq = ?, routed_at = ? WHERE message_id = ? IF seq = null',
  insertDelivery:
    "INSERT INTO messages (message_id, kind, ord, item, recipient_id, channel, address, status, error, at, updated_at, attempts) VALUES (?, 'd', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
  insertHistory: "INSERT INTO messages (message_id, kind, ord, item, recipient_id, channel, status, at, error) VALUES (?, 'h', ?, ?, ?, ?, ?, ?, ?)",
  deliveriesOf: `SELECT ${DELIVERY_COLUMNS} FROM messages WHERE message_id = ? AND kind = 'd'`,
  delivery: `SELECT ${DELIVERY_COLUMNS} FROM messages WHERE ${DELIVERY_KEY}`,
  historyOf: "SELECT ord, item, recipient_id, channel, status, at, error FROM messages WHERE message_id = ? AND kind = 'h'",
  setStatus: `UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE ${DELIVERY_KEY} IF status = ?`,
  // Delivery rows are written by lightweight transactions only (routing, status, provider id), so
  // these are conditional too: Cassandra stamps a Paxos write with its ballot's time and a plain
  // write with the client's clock, and mixing the two on one row lets clocks decide which wins.
  setInFlight: `UPDATE messages SET in_flight_since = ? WHERE ${DELIVERY_KEY} IF EXISTS`,
  park: `UPDATE messages SET next_attempt_at = ?, attempts = ? WHERE ${DELIVERY_KEY} IF attempts = ?`,
  setProviderRef: `UPDATE messages SET provider_message_id = ?, in_flight_since = null, next_attempt_at = null WHERE ${DELIVERY_KEY} IF provider_message_id = null`,
  confirmProviderRef: `UPDATE messages SET in_flight_since = null, next_attempt_at = null WHERE ${DELIVERY_KEY} IF provider_message_id = ?`,

  insertBySeq:
    'INSERT INTO messages_by_seq (conversation_id, seq, message_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  bySeq: 'SELECT conversation_id, seq, message_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at FROM messages_by_seq WHERE conversation_id = ? AND seq > ? LIMIT ?',
  insertUnrouted: 'INSERT INTO unrouted_by_conversation (conversation_id, accepted, message_id) VALUES (?, ?, ?)',
  deleteUnrouted: 'DELETE FROM unrouted_by_conversation WHERE conversation_id = ? AND accepted = ? AND message_id = ?',
  unroutedBefore: 'SELECT accepted, message_id FROM unrouted_by_conversation WHERE conversation_id = ? AND accepted < ?',
  insertDeliveryKey: 'INSERT INTO deliveries_by_id (delivery_id, message_id, ord) VALUES (?, ?, ?)',
  deliveryKey: 'SELECT message_id, ord FROM deliveries_by_id WHERE delivery_id = ?',
  insertUnsent: 'INSERT INTO unsent_deliveries (conversation_id, channel, seq, ord, delivery_id, message_id) VALUES (?, ?, ?, ?, ?, ?)',
  deleteUnsent: 'DELETE FROM unsent_deliveries WHERE conversation_id = ? AND channel = ? AND seq = ? AND ord = ? AND delivery_id = ?',
  unsentBefore: 'SELECT seq, ord, delivery_id, message_id FROM unsent_deliveries WHERE conversation_id = ? AND channel = ? AND seq < ?',
  insertProviderRef: 'INSERT INTO provider_refs (channel, provider_message_id, delivery_id) VALUES (?, ?, ?)',
  providerRef: 'SELECT delivery_id FROM provider_refs WHERE channel = ? AND provider_message_id = ?',

  insertPending: 'INSERT INTO pending_items (kind, bucket, shard, sort_key, item_id) VALUES (?, ?, ?, ?, ?)',
  deletePending: 'DELETE FROM pending_items WHERE kind = ? AND bucket = ? AND shard = ? AND sort_key = ? AND item_id = ?',
  pendingBefore: 'SELECT sort_key, item_id FROM pending_items WHERE kind = ? AND bucket = ? AND shard = ? AND sort_key < ? LIMIT ?',
  pendingUpTo: 'SELECT sort_key, item_id FROM pending_items WHERE kind = ? AND bucket = ? AND shard = ? AND sort_key <= ? LIMIT ?',
  countPending: 'SELECT COUNT(*) FROM pending_items WHERE kind = ? AND bucket = ? AND shard = ?',
  insertBucket: 'INSERT INTO pending_buckets (kind, bucket) VALUES (?, ?)',
  buckets: 'SELECT bucket FROM pending_buckets WHERE kind = ? AND bucket <= ?',
  // Written "as of" the end of the bucket's margin: a marker written later (a late item) survives it.
  retireBucket: 'DELETE FROM pending_buckets USING TIMESTAMP ? WHERE kind = ? AND bucket = ?',

  insertFeed: `INSERT INTO history_feed (bucket, shard, ${FEED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  feed: `SELECT ${FEED_COLUMNS} FROM history_feed WHERE bucket = ? AND shard = ? AND hid > ? AND hid <= ? LIMIT ?`,

  claimSource:
    'INSERT INTO dead_letter_sources (source_topic, source_partition, source_offset, id) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  source: 'SELECT id FROM dead_letter_sources WHERE source_topic = ? AND source_partition = ? AND source_offset = ?',
  insertDeadLetter: `INSERT INTO dead_letters (${DEAD_LETTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deadLetter: `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?`,
  setDeadLetterStatus: 'UPDATE dead_letters SET status = ?, updated_at = ? WHERE id = ?',
  insertDeadLetterLog: "INSERT INTO dead_letter_log (scope, first_seen, id, status) VALUES ('all', ?, ?, ?)",
  deadLetterLogEntry: "SELECT status FROM dead_letter_log WHERE scope = 'all' AND first_seen = ? AND id = ?",
  setDeadLetterLogStatus: "UPDATE dead_letter_log SET status = ? WHERE scope = 'all' AND first_seen = ? AND id = ?",
  deadLetterLog: "SELECT first_seen, id, status FROM dead_letter_log WHERE scope = 'all'",

  insertWebhook: 'INSERT INTO webhooks (webhook_id, owner_id, url, events, secret, created_at, start_after) VALUES (?, ?, ?, ?, ?, ?, ?)',
  insertWebhookByOwner:
    'INSERT INTO webhooks_by_owner (owner_id, created_at, webhook_id, url, events, secret, start_after) VALUES (?, ?, ?, ?, ?, ?, ?)',
  webhook: 'SELECT webhook_id, owner_id, url, events, secret, created_at, start_after FROM webhooks WHERE webhook_id = ?',
  webhooksOf: 'SELECT webhook_id, owner_id, url, events, secret, created_at, start_after FROM webhooks_by_owner WHERE owner_id = ?',
  anyWebhookOf: 'SELECT webhook_id FROM webhooks_by_owner WHERE owner_id = ? LIMIT 1',
  // Plain, like the insert: the owner is checked on the row read just before.
  deleteWebhook: 'DELETE FROM webhooks WHERE webhook_id = ?',
  deleteWebhookByOwner: 'DELETE FROM webhooks_by_owner WHERE owner_id = ? AND created_at = ? AND webhook_id = ?',
  cursor: "SELECT position FROM webhook_cursor WHERE name = 'history'",
  firstCursor: "INSERT INTO webhook_cursor (name, position) VALUES ('history', ?) IF NOT EXISTS",
  moveCursor: "UPDATE webhook_cursor SET position = ? WHERE name = 'history' IF position < ?",
  insertEvent: `INSERT INTO webhook_events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, 0, '[]') IF NOT EXISTS`,
  event: `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE event_id = ?`,
  leaseEvent: "UPDATE webhook_events SET lease_until = ? WHERE event_id = ? IF status = 'pending' AND lease_until < ?",
  settleEvent:
    'UPDATE webhook_events SET attempts = ?, lease_until = 0, status = ?, next_attempt_at = ?, attempt_ids = ? WHERE event_id = ? IF attempts = ?',
  // Conditional like every other write of an event (insert, lease, settle).
  deleteEvent: 'DELETE FROM webhook_events WHERE event_id = ? IF EXISTS',
  insertEventOrder: 'INSERT INTO webhook_event_order (webhook_id, message_id, seq, event_id) VALUES (?, ?, ?, ?)',
  deleteEventOrder: 'DELETE FROM webhook_event_order WHERE webhook_id = ? AND message_id = ? AND seq = ? AND event_id = ?',
  earlierEvents: 'SELECT seq, event_id FROM webhook_event_order WHERE webhook_id = ? AND message_id = ? AND seq < ?',
  insertEventOfWebhook: 'INSERT INTO webhook_events_by_webhook (webhook_id, event_id) VALUES (?, ?)',
  eventsOfWebhook: 'SELECT event_id FROM webhook_events_by_webhook WHERE webhook_id = ?',
  deleteEventOfWebhook: 'DELETE FROM webhook_events_by_webhook WHERE webhook_id = ? AND event_id = ?',
  deleteEventsOfWebhook: 'DELETE FROM webhook_events_by_webhook WHERE webhook_id = ?',
  insertAttempt:
    'INSERT INTO webhook_attempts (webhook_id, attempt_id, event_id, attempt, at, status_code, error, duration_ms, result, event_type, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  attempts:
    'SELECT webhook_id, attempt_id, event_id, attempt, at, status_code, error, duration_ms, result, event_type, message_id FROM webhook_attempts WHERE webhook_id = ? LIMIT ?',
  deleteAttempt: 'DELETE FROM webhook_attempts WHERE webhook_id = ? AND attempt_id = ? AND event_id = ?',
  deleteAttemptsOfWebhook: 'DELETE FROM webhook_attempts WHERE webhook_id = ?',
} as const;

// ---------------------------------------------------------------- rows ↔ domain

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

const toStoredMessage = (r: CqlRow): StoredMessage => ({ ...toMessage(r), accepted: num(r.accepted) ?? 0 });

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

const toStoredDelivery = (r: CqlRow): StoredDelivery => ({
  ...toDelivery(r),
  ord: num(r.ord) ?? 0,
  seq: num(r.seq),
  at: String(r.at),
  attempts: num(r.attempts) ?? 0,
});

const publicDelivery = ({ ord: _o, seq: _s, at: _a, attempts: _n, ...d }: StoredDelivery): Delivery => d;

/** Waits for a provider: external, SENT, no provider id (the SQLite store's "unsent"). */
const isUnsent = (d: Delivery) => d.channel !== 'internal' && d.status === 'SENT' && d.provider_message_id === null;

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

const publicUser = ({ password_hash: _p, ...u }: User & { password_hash: string }): User => u;

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

const publicEvent = ({ attempt_ids: _a, ...e }: WebhookEvent & { attempt_ids: number[] }): WebhookEvent => e;

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

/** How a routing was decided: stored with the seq it took, so any router can finish it. */
interface Claim {
  at: string;
  deliveries: { delivery_id: string; hid: number; recipient_id: string; channel: Channel; address: string | null; error: DeliveryError | null }[];
}

/** Runs `fn` over `items`, at most `width` at once, keeping the order of results. */
async function eachLimited<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

const PARALLEL = 16;

// ---------------------------------------------------------------- the time-bucketed queues

interface PendingItem {
  kind: string;
  sort: SortKey;
  itemId: string;
}

/**
 * A queue table that scans stay cheap on: items live in (kind, minute bucket, shard) partitions,
 * and `pending_buckets` lists the buckets that may still hold items, so a scan starts at the
 * oldest live bucket instead of walking the tombstones of everything already done.
 */
class PendingIndex {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  async add(kind: string, sort: SortKey, itemId: string): Promise<void> {
    const bucket = bucketOf(sort.ms);
    await Promise.all([
      this.db.run(CQL.insertPending, [kind, bucket, shardOf(itemId), sort.key, itemId]),
      this.db.run(CQL.insertBucket, [kind, bucket]),
    ]);
  }

  async remove(kind: string, sort: SortKey, itemId: string): Promise<void> {
    await this.db.run(CQL.deletePending, [kind, bucketOf(sort.ms), shardOf(itemId), sort.key, itemId]);
  }

  /** Items with a sort key below (or up to) `upTo`, in sort order, at most `limit`. */
  async scan(kind: string, upTo: SortKey, inclusive: boolean, limit: number): Promise<PendingItem[]> {
    const last = bucketOf(upTo.ms);
    const buckets = (await this.db.rows(CQL.buckets, [kind, last])).map((r) => num(r.bucket)!);
    const found: PendingItem[] = [];
    for (const bucket of buckets) {
      const perShard = await Promise.all(
        Array.from({ length: SHARDS }, (_, shard) =>
          this.db.rows(inclusive ? CQL.pendingUpTo : CQL.pendingBefore, [kind, bucket, shard, upTo.key, limit]),
        ),
      );
      const rows = perShard.flat();
      for (const r of rows) {
        found.push({ kind, sort: sortKeyOf(String(r.sort_key)), itemId: String(r.item_id) });
      }
      // A bucket wholly before `upTo` that came back empty is empty: forget it once no write can be late.
      const end = (bucket + 1) * BUCKET_MS;
      if (rows.length === 0 && bucket < last && end + RETIRE_MARGIN_MS < this.now()) {
        await this.db.run(CQL.retireBucket, [(end + RETIRE_MARGIN_MS) * 1000, kind, bucket]);
      }
      if (found.length >= limit) break;
    }
    found.sort((a, b) => (a.sort.key < b.sort.key ? -1 : a.sort.key > b.sort.key ? 1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
    return found.slice(0, limit);
  }

  /** Items of a kind (stale entries included until a scan removes them). */
  async count(kind: string): Promise<number> {
    const buckets = (await this.db.rows(CQL.buckets, [kind, Number.MAX_SAFE_INTEGER])).map((r) => num(r.bucket)!);
    const counts = await eachLimited(
      buckets.flatMap((bucket) => Array.from({ length: SHARDS }, (_, shard) => [bucket, shard] as const)),
      PARALLEL,
      async ([bucket, shard]) => num((await this.db.run(CQL.countPending, [kind, bucket, shard])).rows[0]?.count) ?? 0,
    );
    return counts.reduce((a, n) => a + n, 0);
  }
}

/** The session with the store's consistency levels applied. */
class Db {
  constructor(private readonly session: CqlSession) {}

  /** A prepared statement at LOCAL_QUORUM (LOCAL_SERIAL for the condition of a lightweight transaction). */
  run(query: string, params: unknown[], options: { serial?: boolean; fetchSize?: number; pageState?: string } = {}) {
    const o: CqlOptions = { prepare: true, consistency: options.serial ? LOCAL_SERIAL : LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL };
    if (options.fetchSize !== undefined) o.fetchSize = options.fetchSize;
    if (options.pageState !== undefined) o.pageState = options.pageState;
    return this.session.execute(query, params, o);
  }

  /**
   * Every row a read matches. One `execute` answers one page (the driver asks for 5000 rows at a
   * time) and a `pageState` when more follow; a read that stopped there would silently lose rows.
   */
  async rows(query: string, params: unknown[], options: { serial?: boolean } = {}): Promise<CqlRow[]> {
    const out: CqlRow[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.run(query, params, pageState === undefined ? options : { ...options, pageState });
      out.push(...page.rows);
      pageState = page.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  /** A logged batch: all of it is applied, eventually, or none (atomic within one partition). */
  batch(queries: { query: string; params: unknown[] }[]) {
    return this.session.batch(queries, { prepare: true, consistency: LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL, logged: true });
  }
}

// ---------------------------------------------------------------- connecting

export interface CassandraConnectOptions {
  /** `host:port` of one or more nodes (CASSANDRA_CONTACT_POINTS). */
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  username?: string;
  password?: string;
  /** Used when the keyspace does not exist yet. @default SimpleStrategy, factor 1 */
  replication?: Replication;
  /** Bound on reaching the cluster at start. @default 10000 */
  connectTimeoutMs?: number;
  /** Per-request timeout of the driver. @default 12000 */
  requestTimeoutMs?: number;
  /**
   * `create`: create the keyspace and the missing tables. `wait`: send no DDL, wait until the
   * keyspace and every table exist (see `waitForSchema`). @default create
   */
  schema?: 'create' | 'wait';
  /** With `schema: 'wait'`: how long to wait for the schema. @default 300000 */
  schemaWaitMs?: number;
  /** With `schema: 'wait'`: told the tables still missing, before each pause. */
  onSchemaWait?: (missing: readonly string[]) => void;
}

export interface CassandraStoreTuning {
  /** Time source (epoch ms). @default Date.now */
  now?: () => number;
  /**
   * How old a history entry must be before the webhook feed hands it out. History ids come from
   * the writers' clocks, so an entry may become visible a little after a later id did; waiting
   * this long makes sure none is skipped: longer than an LWT may take (Cassandra's
   * cas_contention_timeout 1 s + write_request_timeout 2 s) plus clock skew. @default 5000
   */
  historySettleMs?: number;
}

/** Startup could not reach Cassandra; the message names the contact points. */
export class CassandraUnreachableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('store_unreachable', message, { retriable: true, status: 503, cause });
    this.name = 'CassandraUnreachableError';
  }
}

/** Translates a driver error at the boundary: overloaded or unreachable nodes are worth a retry. */
function translate(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; code?: number; message?: string };
  const retriable =
    e?.name === 'NoHostAvailableError' ||
    e?.name === 'OperationTimedOutError' ||
    e?.name === 'BusyConnectionError' ||
    // unavailable, overloaded, is_bootstrapping, write/read timeout, read/write failure
    [0x1000, 0x1001, 0x1002, 0x1100, 0x1200, 0x1300, 0x1500].includes(e?.code ?? -1);
  const message = `Cassandra: ${e?.message ?? String(err)}`;
  return retriable ? unavailable(message, err) : new AppError('store_error', message, { cause: err });
}

/** The driver's client behind the narrow session port, with its errors translated. */
function driverSession(client: Client): CqlSession {
  return {
    execute: (query, params, options) => client.execute(query, params, options).catch((err: unknown) => Promise.reject(translate(err))),
    batch: (queries, options) => client.batch(queries, options).catch((err: unknown) => Promise.reject(translate(err))),
    shutdown: () => client.shutdown(),
  };
}

async function within<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A driver client, connected within `connectTimeoutMs`. The bootstrap client (the first to reach
 * the cluster, short-lived) waits no longer than that for any answer and sends no heartbeats: the
 * driver misses a node that hangs up during its handshake, and would otherwise keep the process
 * alive with a request timer and heartbeats of a connection that is long gone.
 */
async function connectClient(o: CassandraConnectOptions, keyspace: string | undefined, bootstrap: boolean): Promise<Client> {
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const where = `CASSANDRA_CONTACT_POINTS=${o.contactPoints.join(',')} (CASSANDRA_LOCAL_DATA_CENTER=${o.localDataCenter})`;
  const client = new Client({
    contactPoints: o.contactPoints,
    localDataCenter: o.localDataCenter,
    keyspace,
    credentials: o.username ? { username: o.username, password: o.password ?? '' } : undefined,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: bootstrap ? timeoutMs : (o.requestTimeoutMs ?? 12_000) },
    pooling: bootstrap ? { heartBeatInterval: 0 } : undefined,
    queryOptions: { consistency: LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL, prepare: true },
  });
  try {
    await within(client.connect(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return client;
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new CassandraUnreachableError(`could not connect to Cassandra at ${where}: ${reason}`, err);
  }
}

/** The tables of `keyspace` that exist (none when the keyspace does not), as `system_schema.tables` lists them. */
async function existingTables(session: CqlSession, keyspace: string): Promise<Set<string>> {
  const one = { prepare: false, consistency: types.consistencies.one };
  return new Set((await session.execute(CQL.tables, [keyspace], one)).rows.map((r) => String(r.table_name)));
}

/**
 * Creates every table that is missing (each statement is `CREATE TABLE IF NOT EXISTS`) and returns
 * the names of those it sent. Given the keyspace, it first asks which tables exist and sends no DDL
 * for those: Cassandra 4 and 5 can give one table two ids when two clients create it at once
 * (CASSANDRA-10699), so the pods of a running deployment should not all send `CREATE TABLE` at once.
 */
export async function createTables(session: CqlSession, keyspace?: string): Promise<string[]> {
  const existing = keyspace === undefined ? new Set<string>() : await existingTables(session, keyspace);
  const created: string[] = [];
  for (const cql of TABLES) {
    if (existing.has(tableName(cql))) continue;
    await session.execute(cql, [], { prepare: false, consistency: LOCAL_QUORUM });
    created.push(tableName(cql));
  }
  return created;
}

/** The schema is still missing after `CASSANDRA_SCHEMA_WAIT_MS`; retriable (the schema Job may still be running). */
export class CassandraSchemaMissingError extends AppError {
  constructor(message: string) {
    super('store_schema_missing', message, { retriable: true, status: 503 });
    this.name = 'CassandraSchemaMissingError';
  }
}

export interface SchemaWait {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between two looks. @default 2000 */
  pollMs?: number;
  /** Told the tables still missing, before each pause. */
  onWaiting?: (missing: readonly string[]) => void;
  /** @default Date.now */
  now?: () => number;
  /** @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Waits, sending no DDL, until `keyspace` holds every table of the store: what the workloads of a
 * cluster do while one schema Job creates the tables (see `CASSANDRA_SCHEMA`). A missing keyspace
 * lists no tables, so it is waited for too. Throws `CassandraSchemaMissingError` after `timeoutMs`.
 */
export async function waitForSchema(session: CqlSession, keyspace: string, o: SchemaWait): Promise<void> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + o.timeoutMs;
  for (;;) {
    const existing = await existingTables(session, keyspace);
    const missing = TABLES.map(tableName).filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    if (now() >= deadline) {
      const what = existing.size === 0 ? `keyspace ${keyspace} does not exist or has no tables` : `keyspace ${keyspace} lacks ${missing.join(', ')}`;
      throw new CassandraSchemaMissingError(
        `the Cassandra schema is not there yet after ${o.timeoutMs} ms (CASSANDRA_SCHEMA=wait): ${what}. The chart's schema Job (<release>-cassandra-schema) creates it; or run \`node dist/services/core/cassandra-schema-main.js\` with the same settings`,
      );
    }
    o.onWaiting?.(missing);
    await sleep(Math.max(0, Math.min(o.pollMs ?? 2000, deadline - now())));
  }
}

// ---------------------------------------------------------------- the store

/**
 * The production store on Apache Cassandra 4/5 (see docs/cassandra.md for the data model).
 * Atomic steps are single-partition conditional batches; everything else is written so that a
 * crash between two writes leaves at most a stale index entry, which readers check and remove,
 * or a routed message whose query rows are rebuilt the next time it is routed or scanned.
 */
export class CassandraMessageStore implements MessageStore {
  private readonly db: Db;
  private readonly now: () => number;
  private readonly ids: TimeIds;
  private readonly pending: PendingIndex;
  private readonly settleMs: number;
  private closed = false;

  constructor(
    private readonly session: CqlSession,
    tuning: CassandraStoreTuning = {},
  ) {
    this.db = new Db(session);
    this.now = tuning.now ?? Date.now;
    this.ids = new TimeIds(this.now);
    this.pending = new PendingIndex(this.db, this.now);
    this.settleMs = tuning.historySettleMs ?? 5000;
  }

  /**
   * Connects (bounded by `connectTimeoutMs`), then either creates the keyspace and the missing
   * tables (`schema: 'create'`) or waits for them (`schema: 'wait'`), and returns the store.
   * Throws `CassandraUnreachableError` naming the contact points, or `CassandraSchemaMissingError`.
   */
  static async connect(options: CassandraConnectOptions, tuning: CassandraStoreTuning = {}): Promise<CassandraMessageStore> {
    return (await CassandraMessageStore.connectReporting(options, tuning)).store;
  }

  /** `connect`, also telling which tables it created (none with `schema: 'wait'`). */
  static async connectReporting(
    options: CassandraConnectOptions,
    tuning: CassandraStoreTuning = {},
  ): Promise<{ store: CassandraMessageStore; createdTables: string[] }> {
    const wait = options.schema === 'wait';
    const bootstrap = await connectClient(options, undefined, true);
    try {
      if (wait) {
        // The keyspace must exist before a client can connect to it, so this client (none) waits.
        await waitForSchema(driverSession(bootstrap), options.keyspace, { timeoutMs: options.schemaWaitMs ?? 300_000, onWaiting: options.onSchemaWait });
      } else {
        const cql = keyspaceCql(options.keyspace, options.replication ?? { class: 'SimpleStrategy', replicationFactor: 1 });
        await bootstrap.execute(cql, [], { readTimeout: Math.max(options.requestTimeoutMs ?? 12_000, 30_000) });
      }
    } catch (err) {
      throw translate(err);
    } finally {
      await bootstrap.shutdown().catch(() => undefined);
    }
    const client = await connectClient(options, options.keyspace, false);
    const session = driverSession(client);
    let createdTables: string[] = [];
    try {
      if (!wait) createdTables = await createTables(session, options.keyspace);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw err;
    }
    return { store: new CassandraMessageStore(session, tuning), createdTables };
  }

  // ---------------------------------------------------------------- users and identities

  async createUser(user: NewUser): Promise<User> {
    const row = userRow(user);
    // The user row first (harmless alone: nothing finds it by name), then the name claim.
    await this.db.run(CQL.insertUser, [row.user_id, row.username, row.password_hash, row.email, row.user_role, row.created_at]);
    if (!(await this.db.run(CQL.claimUsername, [user.username, user.user_id])).wasApplied()) {
      const holder = (await this.db.run(CQL.userIdByName, [user.username], { serial: true })).rows[0];
      if (str(holder?.user_id) !== user.user_id) {
        await this.db.run(CQL.deleteUser, [user.user_id]);
        throw conflict(`username ${user.username} is taken`);
      }
    }
    return publicUser(toUser(row));
  }

  async findUserByName(username: string) {
    const holder = (await this.db.run(CQL.userIdByName, [username])).rows[0];
    if (!holder) return null;
    const r = (await this.db.run(CQL.user, [holder.user_id])).rows[0];
    return r ? toUser(r) : null;
  }

  async getUser(userId: string) {
    const r = (await this.db.run(CQL.user, [userId])).rows[0];
    return r ? publicUser(toUser(r)) : null;
  }

  async linkIdentity(identity: Identity): Promise<Identity> {
    const { channel, address, user_id, linked_at } = identity;
    let stored = identity;
    if (!(await this.db.run(CQL.claimAddress, [channel, address, user_id, linked_at])).wasApplied()) {
      const r = (await this.db.run(CQL.identity, [channel, address], { serial: true })).rows[0];
      if (!r) throw unavailable(`${channel} address ${address}: claim not applied and not found; retry`);
      stored = toIdentity(r);
      if (stored.user_id !== user_id) throw conflict(`${channel} address ${address} is linked to another user`);
    }
    // Also after a repeated link: it repairs a link that crashed before this write.
    await this.db.run(CQL.insertIdentityByUser, [stored.user_id, stored.channel, stored.address, stored.linked_at]);
    return stored;
  }

  async listIdentities(userIds: string[]): Promise<Identity[]> {
    const perUser = await eachLimited([...new Set(userIds)], PARALLEL, async (u) => (await this.db.rows(CQL.identitiesByUser, [u])).map(toIdentity));
    // The per-user list is a copy; the address table decides who holds an address.
    const checked = await eachLimited(perUser.flat(), PARALLEL, async (i) => {
      const owner = (await this.db.run(CQL.identity, [i.channel, i.address])).rows[0];
      return owner && owner.user_id === i.user_id ? i : null;
    });
    return checked
      .filter((i): i is Identity => i !== null)
      .sort((a, b) => cmp(a.linked_at, b.linked_at) || cmp(a.channel, b.channel) || cmp(a.address, b.address));
  }

  async unlinkIdentity(userId: string, channel: ExternalChannel, address: string) {
    const removed = (await this.db.run(CQL.releaseAddress, [channel, address, userId])).wasApplied();
    await this.db.run(CQL.deleteIdentityByUser, [userId, channel, address]);
    return removed;
  }

  async findIdentity(channel: ExternalChannel, address: string) {
    const r = (await this.db.run(CQL.identity, [channel, address])).rows[0];
    return r ? toIdentity(r) : null;
  }

  // ---------------------------------------------------------------- conversations

  async createConversation(c: Conversation): Promise<Conversation> {
    const row = conversationRow(c);
    const created = await this.db.run(CQL.insertConversation, [row.conversation_id, row.conversation_type, row.name, row.metadata, row.created_at]);
    if (!created.wasApplied()) throw conflict(`conversation ${c.conversation_id} already exists`);
    const members = [...new Set(c.members)];
    await this.insertMembers(c.conversation_id, members, c.created_at);
    await eachLimited(members, PARALLEL, (m) => this.db.run(CQL.insertConversationByUser, [m, c.conversation_id]));
    return (await this.getConversation(c.conversation_id))!;
  }

  /**
   * The first members, in one conditional batch on the members' partition (whatever the group's
   * size: Cassandra does not size-check a single-partition batch). Members are written only with
   * IF NOT EXISTS; one that `addMember` wrote in the meantime keeps its row, the others are retried.
   */
  private async insertMembers(conversationId: string, members: string[], at: string) {
    let missing = members;
    for (let attempt = 0; missing.length > 0; attempt++) {
      if (attempt === CAS_ATTEMPTS) throw unavailable(`conversation ${conversationId}: members are contended; retry`);
      const batch = missing.map((m) => ({ query: CQL.addMember, params: [conversationId, m, at, members.indexOf(m) + 1] }));
      if ((await this.db.batch(batch)).wasApplied()) return;
      const present = new Set((await this.db.rows(CQL.members, [conversationId], { serial: true })).map((r) => String(r.user_id)));
      missing = missing.filter((m) => !present.has(m));
    }
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const [r, members] = await Promise.all([this.db.run(CQL.conversation, [id]), this.db.rows(CQL.members, [id])]);
    const row = r.rows[0];
    if (!row) return null;
    const ordered = members
      .map((m) => ({ user: String(m.user_id), pos: num(m.pos) ?? 0 }))
      .sort((a, b) => a.pos - b.pos || cmp(a.user, b.user))
      .map((m) => m.user);
    return toConversation(row, ordered);
  }

  async listConversations(userId: string) {
    const ids = (await this.db.rows(CQL.conversationsByUser, [userId])).map((r) => String(r.conversation_id));
    const all = await eachLimited(ids, PARALLEL, (id) => this.getConversation(id));
    return all
      .filter((c): c is Conversation => c !== null && c.members.includes(userId))
      .sort((a, b) => cmp(a.created_at, b.created_at) || cmp(a.conversation_id, b.conversation_id));
  }

  async addMember(conversationId: string, userId: string, at: string) {
    const c = await this.getConversation(conversationId);
    if (!c) throw notFound('conversation');
    if (!c.members.includes(userId)) {
      const pos = (await this.db.rows(CQL.members, [conversationId])).reduce((max, m) => Math.max(max, num(m.pos) ?? 0), 0) + 1;
      await this.db.run(CQL.addMember, [conversationId, userId, at, pos]);
    }
    await this.db.run(CQL.insertConversationByUser, [userId, conversationId]);
    return (await this.getConversation(conversationId))!;
  }

  // ---------------------------------------------------------------- messages

  private async readMessage(messageId: string, serial = false): Promise<StoredMessage | null> {
    const r = (await this.db.run(CQL.message, [messageId], { serial })).rows[0];
    return r && r.conversation_id !== null && r.conversation_id !== undefined ? toStoredMessage(r) : null;
  }

  async acceptMessage(m: Omit<Message, 'seq'>): Promise<AcceptResult> {
    const row = messageRow(m);
    const accepted = this.ids.next();
    const result = await this.db.run(CQL.insertMessage, [
      row.message_id, row.conversation_id, row.sender_id, row.payload, row.channels, row.metadata, row.body_hash, row.trace_id, row.created_at, accepted,
    ]);
    if (result.wasApplied()) {
      const stored: StoredMessage = { ...toMessage(row), accepted };
      await this.indexUnrouted(stored);
      return { message: toMessage(row), created: true };
    }
    const stored = await this.readMessage(m.message_id, true);
    if (!stored) throw unavailable(`message ${m.message_id}: insert not applied and not found; retry`);
    // A repeat after a crash between the insert and its queue entries puts them in place.
    if (stored.seq === null) await this.indexUnrouted(stored);
    const { accepted: _a, ...message } = stored;
    return { message, created: false };
  }

  private async indexUnrouted(m: StoredMessage) {
    await Promise.all([
      this.db.run(CQL.insertUnrouted, [m.conversation_id, m.accepted, m.message_id]),
      this.pending.add('unrouted', isoKey(m.created_at), m.message_id),
    ]);
  }

  async getMessage(id: string) {
    const m = await this.readMessage(id);
    if (!m) return null;
    const { accepted: _a, ...message } = m;
    return message;
  }

  async listMessages(conversationId: string, afterSeq: number, limit: number) {
    return (await this.db.rows(CQL.bySeq, [conversationId, afterSeq, limit])).map(toMessage);
  }

  async listUnrouted(before: string, limit: number) {
    const items = await this.pending.scan('unrouted', isoKey(before), false, limit);
    const found = await eachLimited(items, PARALLEL, (item) => this.stillUnrouted(item.itemId, () => this.pending.remove(item.kind, item.sort, item.itemId)));
    return found.filter((m): m is Message => m !== null);
  }

  /**
   * The message an unrouted-queue entry names, if it is still unrouted. An entry whose message is
   * gone is dropped (`dropEntry`); one whose routing stopped before its query rows is finished.
   */
  private async stillUnrouted(messageId: string, dropEntry: () => Promise<unknown>): Promise<Message | null> {
    const m = await this.readMessage(messageId);
    if (!m) {
      await dropEntry();
      return null;
    }
    if (m.seq !== null) {
      // Routed, but its routing stopped before its query rows: finish that now.
      await this.reindexRouted(m);
      return null;
    }
    const { accepted: _a, ...message } = m;
    return message;
  }

  async listUnroutedBefore(messageId: string) {
    const m = await this.readMessage(messageId);
    if (!m) return [];
    const rows = await this.db.rows(CQL.unroutedBefore, [m.conversation_id, m.accepted]);
    const found = await eachLimited(rows, PARALLEL, (r) => this.stillUnrouted(String(r.message_id), () => this.db.run(CQL.deleteUnrouted, [m.conversation_id, r.accepted, r.message_id])));
    return found.filter((x): x is Message => x !== null);
  }

  // ---------------------------------------------------------------- routing

  /**
   * Takes the conversation's next seq for this message, or finds the one it already took. The
   * sequence row holds the claim (the routing) of the last seq given out; before handing out the
   * next one, a claim not yet applied to its message is applied, so no seq is ever skipped.
   */
  private async claimSeq(m: StoredMessage, plan: PlannedDelivery[], at: string): Promise<{ seq: number; claim: Claim }> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = (await this.db.run(CQL.sequence, [m.conversation_id], { serial: true })).rows[0];
      const claim = this.newClaim(plan, at);
      if (!r) {
        if ((await this.db.run(CQL.conversation, [m.conversation_id])).rows.length === 0) throw notFound(`conversation ${m.conversation_id}`);
        if ((await this.db.run(CQL.firstClaim, [m.conversation_id, 1, m.message_id, JSON.stringify(claim)])).wasApplied()) return { seq: 1, claim };
        continue;
      }
      const last = num(r.last_seq) ?? 0;
      const holder = str(r.claim_message_id);
      if (holder === m.message_id) return { seq: last, claim: parse<Claim>(r.claim)! };
      if (holder) await this.finishClaim(holder, last, parse<Claim>(r.claim)!);
      const next = [last + 1, m.message_id, JSON.stringify(claim), m.conversation_id, last];
      if ((await this.db.run(CQL.nextClaim, next)).wasApplied()) return { seq: last + 1, claim };
    }
    throw unavailable(`conversation ${m.conversation_id}: the next seq is contended; retry`);
  }

  private newClaim(plan: PlannedDelivery[], at: string): Claim {
    return {
      at,
      deliveries: plan.map((p) => ({
        delivery_id: randomUUID(),
        hid: this.ids.next(),
        recipient_id: p.recipient_id,
        channel: p.channel,
        address: p.address,
        error: p.failed ?? null,
      })),
    };
  }

  /** Applies a claim left by a router that stopped between taking the seq and routing the message. */
  private async finishClaim(messageId: string, seq: number, claim: Claim) {
    const m = await this.readMessage(messageId);
    if (!m || m.seq !== null) return;
    await this.writeBySeq(m, seq);
    if (await this.applyClaim(m, seq, claim)) await this.indexRouted({ ...m, seq }, ...this.claimRows(m, seq, claim));
  }

  /**
   * The message's row in seq order, written before the routing itself: a claimed seq always ends
   * up with its claimant, and so a later seq is never listed while an earlier one is missing.
   */
  private async writeBySeq(m: StoredMessage, seq: number) {
    const row = messageRow(m);
    await this.db.run(CQL.insertBySeq, [
      m.conversation_id, seq, m.message_id, row.sender_id, row.payload, row.channels, row.metadata, row.body_hash, row.trace_id, row.created_at,
    ]);
  }

  /** Sets the seq and writes the deliveries and their first history entries, once (IF seq = null). */
  private async applyClaim(m: StoredMessage, seq: number, claim: Claim): Promise<boolean> {
    const queries: { query: string; params: unknown[] }[] = [{ query: CQL.setSeq, params: [seq, claim.at, m.message_id] }];
    claim.deliveries.forEach((d, ord) => {
      const status: DeliveryStatus = d.error ? 'FAILED' : 'SENT';
      const error = json(d.error);
      queries.push({
        query: CQL.insertDelivery,
        params: [m.message_id, ord, d.delivery_id, d.recipient_id, d.channel, d.address, status, error, claim.at, claim.at],
      });
      queries.push({ query: CQL.insertHistory, params: [m.message_id, d.hid, d.delivery_id, d.recipient_id, d.channel, status, claim.at, error] });
    });
    return (await this.db.batch(queries)).wasApplied();
  }

  private claimRows(m: StoredMessage, seq: number, claim: Claim): [StoredDelivery[], StoredHistory[]] {
    const deliveries = claim.deliveries.map(
      (d, ord): StoredDelivery => ({
        delivery_id: d.delivery_id,
        message_id: m.message_id,
        conversation_id: m.conversation_id,
        recipient_id: d.recipient_id,
        channel: d.channel,
        address: d.address,
        status: d.error ? 'FAILED' : 'SENT',
        provider_message_id: null,
        error: d.error,
        updated_at: claim.at,
        in_flight_since: null,
        next_attempt_at: null,
        ord,
        seq,
        at: claim.at,
        attempts: 0,
      }),
    );
    const history = claim.deliveries.map(
      (d): StoredHistory => ({
        hid: d.hid,
        delivery_id: d.delivery_id,
        recipient_id: d.recipient_id,
        channel: d.channel,
        status: d.error ? 'FAILED' : 'SENT',
        at: claim.at,
        error: d.error,
      }),
    );
    return [deliveries, history];
  }

  /**
   * Writes the query rows of a routed message (idempotent: a repeat writes the same rows) and
   * then removes it from the unrouted queues, so a crash in between leaves it to be found again.
   */
  private async indexRouted(m: StoredMessage, deliveries: StoredDelivery[], history: StoredHistory[]) {
    const writes: (() => Promise<unknown>)[] = [() => this.writeBySeq(m, m.seq!)];
    for (const d of deliveries) {
      writes.push(() => this.db.run(CQL.insertDeliveryKey, [d.delivery_id, m.message_id, d.ord]));
      if (!isUnsent(d)) continue;
      writes.push(() => this.db.run(CQL.insertUnsent, [m.conversation_id, d.channel, m.seq, d.ord, d.delivery_id, m.message_id]));
      writes.push(() =>
        d.next_attempt_at === null
          ? this.pending.add(`undispatched:${d.channel}`, isoKey(d.at), d.delivery_id)
          : this.pending.add(`parked:${d.channel}`, isoKey(d.next_attempt_at), d.delivery_id),
      );
    }
    for (const h of history) writes.push(() => this.feed(m, h));
    await eachLimited(writes, PARALLEL, (w) => w());
    await Promise.all([
      this.db.run(CQL.deleteUnrouted, [m.conversation_id, m.accepted, m.message_id]),
      this.pending.remove('unrouted', isoKey(m.created_at), m.message_id),
    ]);
  }

  /** Rebuilds the query rows of a routed message from its partition. */
  private async reindexRouted(m: StoredMessage): Promise<StoredDelivery[]> {
    const [d, h] = await Promise.all([this.db.rows(CQL.deliveriesOf, [m.message_id]), this.db.rows(CQL.historyOf, [m.message_id])]);
    const deliveries = d.map(toStoredDelivery);
    await this.indexRouted(m, deliveries, h.map(toStoredHistory));
    return deliveries;
  }

  private feed(m: Pick<Message, 'message_id' | 'conversation_id' | 'sender_id'>, h: StoredHistory) {
    return this.db.run(CQL.insertFeed, [
      feedBucketOf(h.hid), shardOf(m.message_id), h.hid, h.delivery_id, m.message_id, m.conversation_id, m.sender_id,
      h.recipient_id, h.channel, h.status, h.at, json(h.error),
    ]);
  }

  async routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult> {
    const m = await this.readMessage(messageId);
    if (!m) throw notFound(`message ${messageId}`);
    if (m.seq === null) {
      const { seq, claim } = await this.claimSeq(m, plan, at);
      await this.writeBySeq(m, seq);
      if (await this.applyClaim(m, seq, claim)) {
        const [deliveries, history] = this.claimRows(m, seq, claim);
        await this.indexRouted({ ...m, seq }, deliveries, history);
        return { seq, deliveries: deliveries.map(publicDelivery), routedNow: true };
      }
    }
    // Routed before (or just now by another router): the stored routing, its query rows made sure of.
    const routed = await this.readMessage(messageId, true);
    if (!routed || routed.seq === null) throw unavailable(`message ${messageId}: routing not visible yet; retry`);
    const deliveries = await this.reindexRouted(routed);
    return { seq: routed.seq, deliveries: deliveries.map(publicDelivery), routedNow: false };
  }

  // ---------------------------------------------------------------- deliveries

  private async readDelivery(deliveryId: string, serial = false): Promise<StoredDelivery | null> {
    const key = (await this.db.run(CQL.deliveryKey, [deliveryId])).rows[0];
    if (!key) return null;
    const r = (await this.db.run(CQL.delivery, [key.message_id, key.ord, deliveryId], { serial })).rows[0];
    return r && r.status !== null && r.status !== undefined ? toStoredDelivery(r) : null;
  }

  async getDelivery(id: string) {
    const d = await this.readDelivery(id);
    return d ? publicDelivery(d) : null;
  }

  async listDeliveries(messageId: string) {
    return (await this.db.rows(CQL.deliveriesOf, [messageId])).map(toDelivery);
  }

  async listUndispatched(before: string, limit: number) {
    const upTo = isoKey(before);
    const items = (
      await Promise.all([this.pending.scan('undispatched:whatsapp', upTo, false, limit), this.pending.scan('undispatched:instagram', upTo, false, limit)])
    )
      .flat()
      .sort((a, b) => cmp(a.sort.key, b.sort.key) || cmp(a.itemId, b.itemId))
      .slice(0, limit);
    const found = await eachLimited(items, PARALLEL, async (item) => {
      const d = await this.readDelivery(item.itemId);
      if (d && isUnsent(d) && d.next_attempt_at === null) return publicDelivery(d);
      await this.pending.remove(item.kind, item.sort, item.itemId);
      return null;
    });
    return found.filter((d): d is Delivery => d !== null);
  }

  async listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number) {
    const rows = await this.db.rows(CQL.unsentBefore, [conversationId, channel, beforeSeq]);
    const messageIds = [...new Set(rows.map((r) => String(r.message_id)))];
    const byId = new Map<string, StoredDelivery>();
    await eachLimited(messageIds, PARALLEL, async (id) => {
      for (const r of await this.db.rows(CQL.deliveriesOf, [id])) {
        const d = toStoredDelivery(r);
        byId.set(d.delivery_id, d);
      }
    });
    const out: (Delivery & { seq: number })[] = [];
    for (const r of rows) {
      const d = byId.get(String(r.delivery_id));
      if (d && isUnsent(d)) out.push({ ...publicDelivery(d), seq: num(r.seq)! });
      else await this.db.run(CQL.deleteUnsent, [conversationId, channel, r.seq, r.ord, r.delivery_id]);
    }
    return out;
  }

  // In-flight marks and parking are lightweight transactions, as is every write of a delivery row
  // (see CQL.setInFlight): one Paxos round more per provider call, in exchange for an order that
  // no clock can turn around (a provider id recorded after a mark always clears it).
  async markInFlight(deliveryId: string, at: string) {
    const d = await this.readDelivery(deliveryId);
    if (d) await this.db.run(CQL.setInFlight, [at, d.message_id, d.ord, deliveryId]);
  }

  async clearInFlight(deliveryId: string) {
    const d = await this.readDelivery(deliveryId);
    if (d) await this.db.run(CQL.setInFlight, [null, d.message_id, d.ord, deliveryId]);
  }

  async parkDelivery(deliveryId: string, nextAttemptAt: string) {
    const next = isoKey(nextAttemptAt);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const d = await this.readDelivery(deliveryId, attempt > 0);
      if (!d) return;
      // The queue entry first: a crash after it leaves an entry the scan skips or removes.
      if (isUnsent(d)) await this.pending.add(`parked:${d.channel}`, next, deliveryId);
      // IF attempts = <read>: two parks at once count two attempts, as `attempts + 1` does in SQL.
      if (!(await this.db.run(CQL.park, [nextAttemptAt, d.attempts + 1, d.message_id, d.ord, deliveryId, d.attempts])).wasApplied()) continue;
      if (d.next_attempt_at === null) await this.pending.remove(`undispatched:${d.channel}`, isoKey(d.at), deliveryId);
      else if (d.next_attempt_at !== nextAttemptAt) await this.pending.remove(`parked:${d.channel}`, isoKey(d.next_attempt_at), deliveryId);
      return;
    }
    throw unavailable(`delivery ${deliveryId}: parking is contended; retry`);
  }

  async listDueParked(channel: ExternalChannel, now: string, limit: number) {
    const items = await this.pending.scan(`parked:${channel}`, isoKey(now), true, limit);
    const found = await eachLimited(items, PARALLEL, async (item) => {
      const d = await this.readDelivery(item.itemId);
      if (d && isUnsent(d) && d.next_attempt_at === item.sort.key) return publicDelivery(d);
      // An entry newer than the delivery's own is a park in progress: leave it.
      const inProgress = d !== null && isUnsent(d) && (d.next_attempt_at === null || d.next_attempt_at < item.sort.key);
      if (!inProgress) await this.pending.remove(item.kind, item.sort, item.itemId);
      return null;
    });
    return found.filter((d): d is Delivery => d !== null);
  }

  async countUnsent(channel: ExternalChannel) {
    const [waiting, parked] = await Promise.all([this.pending.count(`undispatched:${channel}`), this.pending.count(`parked:${channel}`)]);
    return waiting + parked;
  }

  /** Removes a delivery from the queues of deliveries waiting for a provider. */
  private async unqueue(d: StoredDelivery) {
    if (d.channel === 'internal') return;
    await Promise.all([
      d.seq === null ? null : this.db.run(CQL.deleteUnsent, [d.conversation_id, d.channel, d.seq, d.ord, d.delivery_id]),
      this.pending.remove(`undispatched:${d.channel}`, isoKey(d.at), d.delivery_id),
      d.next_attempt_at === null ? null : this.pending.remove(`parked:${d.channel}`, isoKey(d.next_attempt_at), d.delivery_id),
    ]);
  }

  async recordProviderRef(deliveryId: string, providerMessageId: string) {
    const d = await this.readDelivery(deliveryId);
    if (!d) return false;
    if (d.provider_message_id !== null && d.provider_message_id !== providerMessageId) return false;
    await this.db.run(CQL.insertProviderRef, [d.channel, providerMessageId, deliveryId]);
    const key = [d.message_id, d.ord, deliveryId];
    let recorded = (await this.db.run(CQL.setProviderRef, [providerMessageId, ...key])).wasApplied();
    // Not applied: some id is there already; it counts only when it is this one.
    if (!recorded) recorded = (await this.db.run(CQL.confirmProviderRef, [...key, providerMessageId])).wasApplied();
    if (recorded) await this.unqueue(d);
    return recorded;
  }

  async findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string) {
    const ref = (await this.db.run(CQL.providerRef, [channel, providerMessageId])).rows[0];
    if (!ref) return null;
    const d = await this.readDelivery(String(ref.delivery_id));
    return d && d.channel === channel && d.provider_message_id === providerMessageId ? publicDelivery(d) : null;
  }

  async applyStatus(e: StatusEvent): Promise<ApplyResult> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const d = await this.readDelivery(e.delivery_id, attempt > 0);
      if (!d) return { applied: false, delivery: null };
      if (!canTransition(d.status, e.status)) return { applied: false, delivery: publicDelivery(d) };
      const error = e.error ? JSON.stringify(e.error) : json(d.error);
      const hid = this.ids.next();
      // The status and its history entry in one partition: both or neither, and only from the status read.
      const applied = (
        await this.db.batch([
          { query: CQL.setStatus, params: [e.status, error, e.at, d.message_id, d.ord, d.delivery_id, d.status] },
          { query: CQL.insertHistory, params: [d.message_id, hid, d.delivery_id, d.recipient_id, d.channel, e.status, e.at, e.error ? error : null] },
        ])
      ).wasApplied();
      if (!applied) continue;
      const m = await this.readMessage(d.message_id);
      const h: StoredHistory = { hid, delivery_id: d.delivery_id, recipient_id: d.recipient_id, channel: d.channel, status: e.status, at: e.at, error: e.error ?? null };
      await Promise.all([m ? this.feed(m, h) : null, e.status === 'SENT' ? null : this.unqueue(d)]);
      return { applied: true, delivery: publicDelivery({ ...d, status: e.status, error: parse<DeliveryError>(error), updated_at: e.at }) };
    }
    throw unavailable(`delivery ${e.delivery_id}: status is contended; retry`);
  }

  async deliveriesFor(recipientId: string, messageIds: string[]) {
    const perMessage = await eachLimited([...new Set(messageIds)], PARALLEL, async (id) =>
      (await this.db.rows(CQL.deliveriesOf, [id])).map(toStoredDelivery).filter((d) => d.recipient_id === recipientId),
    );
    return perMessage
      .flat()
      .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || cmp(a.at, b.at) || a.ord - b.ord)
      .map(publicDelivery);
  }

  async history(messageId: string): Promise<HistoryEntry[]> {
    const m = await this.readMessage(messageId);
    if (!m) return [];
    const rows = (await this.db.rows(CQL.historyOf, [messageId])).map(toStoredHistory);
    rows.sort((a, b) => cmp(a.at, b.at) || a.hid - b.hid);
    return [{ status: 'SENT', at: m.created_at }, ...rows.map(toHistoryEntry)];
  }

  // ---------------------------------------------------------------- dead letters

  /**
   * The letter, then its log entry. Not one batch: a batch over two partitions is refused above
   * `batch_size_fail_threshold` (50 KiB by default), and a dead letter holds a whole record, which
   * may be larger. A crash in between is repaired when the same record comes again (`addDeadLetter`).
   */
  private async writeDeadLetter(l: DeadLetter) {
    const r = deadLetterRow(l);
    await this.db.run(CQL.insertDeadLetter, [
      r.id, r.reason, r.source_topic, r.source_partition, r.source_offset, r.record_key, r.record_value, r.headers, r.first_seen, r.status, r.updated_at,
    ]);
    await this.db.run(CQL.insertDeadLetterLog, [r.first_seen, r.id, r.status]);
  }

  async addDeadLetter(letter: DeadLetter) {
    if ((await this.db.run(CQL.claimSource, [letter.topic, letter.partition, letter.offset, letter.id])).wasApplied()) {
      await this.writeDeadLetter(letter);
      return toDeadLetter(deadLetterRow(letter));
    }
    const holder = (await this.db.run(CQL.source, [letter.topic, letter.partition, letter.offset], { serial: true })).rows[0];
    const id = String(holder?.id ?? letter.id);
    const stored = await this.getDeadLetter(id);
    if (stored) {
      // Its log entry may be what a crash left out.
      if ((await this.db.run(CQL.deadLetterLogEntry, [stored.first_seen, stored.id])).rows.length === 0) {
        await this.db.run(CQL.insertDeadLetterLog, [stored.first_seen, stored.id, stored.status]);
      }
      return stored;
    }
    // The source was claimed by a writer that stopped before the letter: write it under that id.
    const repaired = { ...letter, id };
    await this.writeDeadLetter(repaired);
    return toDeadLetter(deadLetterRow(repaired));
  }

  async listDeadLetters(status?: DeadLetter['status'], limit = 500) {
    const ids: string[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.db.run(CQL.deadLetterLog, [], { fetchSize: Math.max(limit, 100), pageState });
      for (const r of page.rows) if (!status || r.status === status) ids.push(String(r.id));
      pageState = page.pageState ?? undefined;
    } while (pageState && ids.length < limit);
    const letters = await eachLimited(ids.slice(0, limit), PARALLEL, (id) => this.getDeadLetter(id));
    return letters.filter((l): l is DeadLetter => l !== null && (!status || l.status === status));
  }

  async getDeadLetter(id: string) {
    const r = (await this.db.run(CQL.deadLetter, [id])).rows[0];
    return r ? toDeadLetter(r) : null;
  }

  async setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string) {
    const l = await this.getDeadLetter(id);
    if (!l) throw notFound('dead letter');
    await this.db.batch([
      { query: CQL.setDeadLetterStatus, params: [status, at, id] },
      { query: CQL.setDeadLetterLogStatus, params: [status, l.first_seen, id] },
    ]);
    return { ...l, status, updated_at: at };
  }

  async healthy() {
    if (this.closed) return false;
    try {
      await this.db.run(CQL.health, []);
      return true;
    } catch {
      return false;
    }
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.session.shutdown();
  }

  // ---------------------------------------------------------------- outbound webhooks (services/webhooks)

  async createWebhook(webhook: NewWebhook): Promise<Webhook> {
    const w: Webhook = { ...webhook, start_after: this.ids.next() };
    const r = webhookRow(w);
    await this.db.batch([
      { query: CQL.insertWebhook, params: [r.webhook_id, r.owner_id, r.url, r.events, r.secret, r.created_at, r.start_after] },
      { query: CQL.insertWebhookByOwner, params: [r.owner_id, r.created_at, r.webhook_id, r.url, r.events, r.secret, r.start_after] },
    ]);
    // The feed starts at the first webhook, not at the feed's retention horizon.
    await this.db.run(CQL.firstCursor, [w.start_after]);
    return toWebhook(r);
  }

  async listWebhooks(ownerId: string): Promise<Webhook[]> {
    return (await this.db.rows(CQL.webhooksOf, [ownerId])).map(toWebhook);
  }

  async getWebhook(webhookId: string): Promise<Webhook | null> {
    const r = (await this.db.run(CQL.webhook, [webhookId])).rows[0];
    return r ? toWebhook(r) : null;
  }

  async deleteWebhook(ownerId: string, webhookId: string): Promise<boolean> {
    const w = await this.getWebhook(webhookId);
    if (!w || w.owner_id !== ownerId) return false;
    await this.db.run(CQL.deleteWebhook, [webhookId]);
    await this.db.run(CQL.deleteWebhookByOwner, [ownerId, w.created_at, webhookId]);
    const events = (await this.db.rows(CQL.eventsOfWebhook, [webhookId])).map((r) => String(r.event_id));
    await eachLimited(events, PARALLEL, async (id) => {
      const e = await this.readEvent(id);
      if (e) {
        await Promise.all([
          this.db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
          e.status === 'pending'
            ? this.pending.remove('webhook-due', msKey(e.next_attempt_at), id)
            : this.pending.remove('webhook-done', isoKey(e.created_at), id),
        ]);
      }
      await this.db.run(CQL.deleteEvent, [id]);
    });
    await Promise.all([this.db.run(CQL.deleteEventsOfWebhook, [webhookId]), this.db.run(CQL.deleteAttemptsOfWebhook, [webhookId])]);
    return true;
  }

  async webhookCursor(): Promise<number> {
    return num((await this.db.run(CQL.cursor, [], { serial: true })).rows[0]?.position) ?? 0;
  }

  /**
   * History ids come from the writers' clocks, so the feed hands out only entries older than
   * `historySettleMs` (the horizon), in steps so that a dispatcher with nothing new is done after
   * one round. Within that bound, an entry written late is still seen.
   */
  async historyForWebhooks(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }> {
    const now = this.now();
    const settled = this.settleMs > 0 ? Math.floor((now - this.settleMs) / 250) * 250 : now + 1;
    const horizon = idAt(settled) - 1;
    const from = Math.max(afterId, idAt(now - HISTORY_FEED_TTL_SECONDS * 1000));
    if (from >= horizon) return { entries: [], lastId: afterId };
    const found: CqlRow[] = [];
    let lastId = from;
    for (let bucket = feedBucketOf(from + 1), n = 0; bucket <= feedBucketOf(horizon) && n < MAX_FEED_BUCKETS; bucket++, n++) {
      const upTo = Math.min(horizon, idAt((bucket + 1) * BUCKET_MS) - 1);
      const perShard = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => this.db.rows(CQL.feed, [bucket, shard, from, upTo, limit])));
      found.push(...perShard.flat());
      lastId = upTo;
      if (found.length >= limit) break;
    }
    found.sort((a, b) => num(a.hid)! - num(b.hid)! || cmp(String(a.delivery_id), String(b.delivery_id)));
    let window = found;
    if (found.length >= limit) {
      // Each shard gave its first `limit` entries, so everything up to the limit-th id overall is here.
      const cut = num(found[limit - 1]!.hid)!;
      window = found.filter((r) => num(r.hid)! <= cut);
      lastId = cut;
    }
    const senders = [...new Set(window.map((r) => String(r.sender_id)))];
    const withWebhook = new Set<string>();
    await eachLimited(senders, PARALLEL, async (s) => {
      if ((await this.db.run(CQL.anyWebhookOf, [s])).rows.length > 0) withWebhook.add(s);
    });
    const entries = window
      .filter((r) => withWebhook.has(String(r.sender_id)))
      .map(
        (r): HistoryRecord => ({
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
        }),
      );
    return { entries, lastId: Math.max(lastId, afterId) };
  }

  async enqueueWebhookEvents(events: NewWebhookEvent[], cursor: number): Promise<void> {
    // Order rows first, for all events: an event never becomes claimable before an earlier one is known.
    await eachLimited(events, PARALLEL, (e) =>
      Promise.all([
        this.db.run(CQL.insertEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
        this.db.run(CQL.insertEventOfWebhook, [e.webhook_id, e.event_id]),
        this.pending.add('webhook-due', msKey(e.next_attempt_at), e.event_id),
      ]),
    );
    // IF NOT EXISTS: an event stored before (a repeated pass) keeps its state.
    await eachLimited(events, PARALLEL, (e) =>
      this.db.run(CQL.insertEvent, [e.event_id, e.webhook_id, e.type, e.message_id, e.seq, e.body, e.created_at, e.next_attempt_at, e.deadline]),
    );
    await this.moveCursor(cursor);
  }

  private async moveCursor(to: number) {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      if ((await this.db.run(CQL.moveCursor, [to, to])).wasApplied()) return;
      const current = (await this.db.run(CQL.cursor, [], { serial: true })).rows[0];
      if (current && (num(current.position) ?? 0) >= to) return;
      if (!current && (await this.db.run(CQL.firstCursor, [to])).wasApplied()) return;
    }
    throw unavailable('webhook cursor is contended; retry');
  }

  private async readEvent(eventId: string, serial = false) {
    const r = (await this.db.run(CQL.event, [eventId], { serial })).rows[0];
    return r ? toWebhookEvent(r) : null;
  }

  /** Whether an event of the same webhook and message with a lower seq is still pending (or not stored yet). */
  private async earlierPending(e: WebhookEvent): Promise<boolean> {
    for (const r of await this.db.rows(CQL.earlierEvents, [e.webhook_id, e.message_id, e.seq])) {
      const other = await this.readEvent(String(r.event_id));
      if (!other || other.status === 'pending') return true;
      await this.db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, r.seq, r.event_id]);
    }
    return false;
  }

  async claimWebhookEvents(now: number, leaseUntil: number, limit: number, fairness: ClaimFairness = {}): Promise<WebhookEvent[]> {
    const skip = new Set(fairness.skipWebhooks ?? []);
    const perWebhook = fairness.perWebhook ?? limit;
    const taken = new Map<string, number>();
    // Skipped webhooks' events are read and passed over: scan further so the claim can still fill.
    const items = await this.pending.scan('webhook-due', msKey(now), true, limit * 4 + (skip.size > 0 || fairness.perWebhook !== undefined ? limit * 4 : 0));
    const events = await eachLimited(items, PARALLEL, (item) => this.readEvent(item.itemId));
    const claimed: WebhookEvent[] = [];
    for (const [i, item] of items.entries()) {
      if (claimed.length >= limit) break;
      const e = events[i];
      if (!e) {
        // Not stored yet (an enqueue in progress) or deleted with its webhook; old ones are the latter.
        if (item.sort.ms + RETIRE_MARGIN_MS < this.now()) await this.pending.remove(item.kind, item.sort, item.itemId);
        continue;
      }
      if (e.status !== 'pending' || e.next_attempt_at > item.sort.ms) {
        await this.pending.remove(item.kind, item.sort, item.itemId);
        continue;
      }
      // An entry newer than the event's own time is a retry being recorded: leave it.
      if (e.next_attempt_at < item.sort.ms || (e.lease_until !== null && e.lease_until >= now)) continue;
      if (skip.has(e.webhook_id) || (taken.get(e.webhook_id) ?? 0) >= perWebhook) continue;
      if (await this.earlierPending(e)) continue;
      if ((await this.db.run(CQL.leaseEvent, [leaseUntil, e.event_id, now])).wasApplied()) {
        claimed.push({ ...publicEvent(e), lease_until: leaseUntil });
        taken.set(e.webhook_id, (taken.get(e.webhook_id) ?? 0) + 1);
      }
    }
    return claimed.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.seq - b.seq);
  }

  async recordWebhookAttempt(attempt: WebhookAttempt, next: { status: WebhookEventStatus; next_attempt_at: number }): Promise<void> {
    const attemptId = this.ids.next();
    for (let round = 0; round < CAS_ATTEMPTS; round++) {
      const e = await this.readEvent(attempt.event_id, round > 0);
      if (!e) return;
      const wasPending = e.status === 'pending';
      const status = wasPending ? next.status : e.status;
      const nextAt = wasPending ? next.next_attempt_at : e.next_attempt_at;
      if (wasPending && status === 'pending' && nextAt !== e.next_attempt_at) await this.pending.add('webhook-due', msKey(nextAt), e.event_id);
      if (wasPending && status !== 'pending') await this.pending.add('webhook-done', isoKey(e.created_at), e.event_id);
      const ids = JSON.stringify([...e.attempt_ids, attemptId]);
      if (!(await this.db.run(CQL.settleEvent, [e.attempts + 1, status, nextAt, ids, e.event_id, e.attempts])).wasApplied()) continue;
      await this.db.run(CQL.insertAttempt, [
        attempt.webhook_id, attemptId, attempt.event_id, e.attempts + 1, attempt.at, attempt.status_code, attempt.error, attempt.duration_ms,
        attempt.result, e.type, e.message_id,
      ]);
      if (wasPending && status === 'pending' && nextAt !== e.next_attempt_at) await this.pending.remove('webhook-due', msKey(e.next_attempt_at), e.event_id);
      if (wasPending && status !== 'pending') {
        await Promise.all([
          this.pending.remove('webhook-due', msKey(e.next_attempt_at), e.event_id),
          this.db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
        ]);
      }
      return;
    }
    throw unavailable(`webhook event ${attempt.event_id} is contended; retry`);
  }

  async listWebhookAttempts(webhookId: string, limit: number): Promise<WebhookAttemptRecord[]> {
    return (await this.db.rows(CQL.attempts, [webhookId, limit])).map(toAttemptRecord);
  }

  async countPendingWebhookEvents(): Promise<number> {
    return this.pending.count('webhook-due');
  }

  async pruneWebhookEvents(before: string): Promise<number> {
    let pruned = 0;
    for (;;) {
      const items = await this.pending.scan('webhook-done', isoKey(before), false, 500);
      // Per item: 1 pruned, 0 a stale entry removed, -1 left (its event is being settled).
      const done = await eachLimited(items, PARALLEL, async (item) => {
        const e = await this.readEvent(item.itemId);
        if (e && e.status === 'pending') return -1;
        if (e) {
          await Promise.all([
            ...e.attempt_ids.map((id) => this.db.run(CQL.deleteAttempt, [e.webhook_id, id, e.event_id])),
            this.db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
            this.db.run(CQL.deleteEventOfWebhook, [e.webhook_id, e.event_id]),
          ]);
          await this.db.run(CQL.deleteEvent, [e.event_id]);
        }
        await this.pending.remove(item.kind, item.sort, item.itemId);
        return e ? 1 : 0;
      });
      pruned += done.filter((n) => n === 1).length;
      if (items.length < 500 || done.every((n) => n === -1)) return pruned;
    }
  }
}

const feedBucketOf = (hid: number) => bucketOf(Math.floor(hid / IDS_PER_MS));

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

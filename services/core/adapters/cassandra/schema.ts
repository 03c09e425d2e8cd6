/**
 * The Cassandra data model of the message store (see docs/cassandra.md for why each table exists).
 *
 * Cassandra answers a query only from the primary key of one table, so every question the
 * `MessageStore` port asks has a table shaped for it. Rules the tables follow:
 * - one partition per thing that changes atomically: a message, its deliveries and its status
 *   history share the `messages` partition, so routing and a status change are each one
 *   conditional single-partition batch (lightweight transaction);
 * - a table is written either only with lightweight transactions or only plainly: Cassandra stamps
 *   the two with different clocks, so on one row their order would be up to the clocks;
 * - query tables ("indexes") are written after, and removed after, the row they point to; a
 *   reader always checks the row itself, so a leftover index entry is harmless and is removed
 *   when found;
 * - tables that rows are deleted from all the time (the outbox and pending queues) are split
 *   into time buckets and shards, so no scan walks more than a few minutes of tombstones, and
 *   keep tombstones one hour only (a resurrected entry is only a stale hint).
 */

/** Keyspace replication: `SimpleStrategy` with one factor (dev), or a factor per data center. */
export type Replication =
  | { class: 'SimpleStrategy'; replicationFactor: number }
  | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

/** Keyspace names the store accepts: lower case (the driver quotes them), at most 48 characters. */
export const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

/** Tombstones of the queue-like tables live one hour: a resurrected entry is only a stale hint. */
const SHORT_GC = 'gc_grace_seconds = 3600';

/** How long the webhook history feed keeps entries (seconds). */
export const HISTORY_FEED_TTL_SECONDS = 7 * 24 * 3600;

/** `CREATE KEYSPACE IF NOT EXISTS` for the given name and replication. */
export function keyspaceCql(keyspace: string, replication: Replication): string {
  if (!KEYSPACE_NAME.test(keyspace)) throw new Error(`invalid keyspace name ${JSON.stringify(keyspace)}: use lower-case letters, digits and _`);
  const map =
    replication.class === 'SimpleStrategy'
      ? `'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}`
      : [`'class': 'NetworkTopologyStrategy'`, ...Object.entries(replication.dataCenters).map(([dc, rf]) => `'${dc.replace(/'/g, "''")}': ${rf}`)].join(', ');
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {${map}}`;
}

/** Every table of the store, in creation order. Each statement is idempotent. */
export const TABLES: readonly string[] = [
  // ---------------------------------------------------------------- users and identities
  `CREATE TABLE IF NOT EXISTS users (
    user_id text PRIMARY KEY, username text, password_hash text, email text, user_role text, created_at text)`,
  // The username claim: INSERT ... IF NOT EXISTS makes names unique.
  `CREATE TABLE IF NOT EXISTS users_by_name (username text PRIMARY KEY, user_id text)`,
  // One owner per external address (INSERT ... IF NOT EXISTS).
  `CREATE TABLE IF NOT EXISTS identities (
    channel text, address text, user_id text, linked_at text, PRIMARY KEY ((channel, address)))`,
  `CREATE TABLE IF NOT EXISTS identities_by_user (
    user_id text, channel text, address text, linked_at text, PRIMARY KEY ((user_id), channel, address))`,
  // Pending links with the hash of their one-time code; written only with lightweight transactions.
  `CREATE TABLE IF NOT EXISTS identity_challenges (
    user_id text, channel text, address text, code_hash text, created_at text, expires_at text, tries_left int,
    PRIMARY KEY ((user_id), channel, address))`,

  // Contacts (people who wrote from an address no user holds): made with IF NOT EXISTS, merged
  // with IF merged_into = null, so the row is written only with lightweight transactions.
  `CREATE TABLE IF NOT EXISTS contacts (
    contact_id text PRIMARY KEY, channel text, address text, display_name text, created_at text,
    merged_into text, merged_at text)`,

  // ---------------------------------------------------------------- conversations
  `CREATE TABLE IF NOT EXISTS conversations (
    conversation_id text PRIMARY KEY, conversation_type text, name text, metadata text, created_at text)`,
  `CREATE TABLE IF NOT EXISTS conversation_members (
    conversation_id text, user_id text, joined_at text, pos bigint, PRIMARY KEY ((conversation_id), user_id))`,
  `CREATE TABLE IF NOT EXISTS conversations_by_user (
    user_id text, conversation_id text, PRIMARY KEY ((user_id), conversation_id))`,
  // The per-conversation sequence, only ever written with lightweight transactions. The claim is
  // the routing of the message that took `last_seq` (its deliveries and history ids), so that any
  // router can finish it after a crash before the next seq is handed out: seqs have no gaps.
  `CREATE TABLE IF NOT EXISTS conversation_sequence (
    conversation_id text PRIMARY KEY, last_seq bigint, claim_message_id text, claim text)`,

  // ---------------------------------------------------------------- messages, deliveries, history
  // One partition per message. The message itself is the static part; its deliveries (kind 'd',
  // ord = position in the plan, item = delivery_id) and its history entries (kind 'h', ord =
  // history id, item = delivery_id) are the rows. Routing sets seq and writes the rows in one
  // conditional batch (IF seq = null); a status change updates a delivery and appends its history
  // entry in one conditional batch (IF status = <the status read>).
  `CREATE TABLE IF NOT EXISTS messages (
    message_id text, kind text, ord bigint, item text,
    conversation_id text STATIC, sender_id text STATIC, payload text STATIC, channels text STATIC,
    metadata text STATIC, body_hash text STATIC, trace_id text STATIC, created_at text STATIC,
    accepted bigint STATIC, seq bigint STATIC, routed_at text STATIC,
    recipient_id text, channel text, address text, status text, provider_message_id text, error text,
    at text, updated_at text, in_flight_since text, next_attempt_at text, attempts int,
    PRIMARY KEY ((message_id), kind, ord, item))`,
  // A conversation's routed messages in seq order (a copy of the message: it never changes).
  `CREATE TABLE IF NOT EXISTS messages_by_seq (
    conversation_id text, seq bigint, message_id text, sender_id text, payload text, channels text,
    metadata text, body_hash text, trace_id text, created_at text, PRIMARY KEY ((conversation_id), seq))`,
  // Accepted messages of a conversation not yet routed, in acceptance order.
  `CREATE TABLE IF NOT EXISTS unrouted_by_conversation (
    conversation_id text, accepted bigint, message_id text, PRIMARY KEY ((conversation_id), accepted, message_id))
    WITH ${SHORT_GC}`,
  `CREATE TABLE IF NOT EXISTS deliveries_by_id (delivery_id text PRIMARY KEY, message_id text, ord bigint)`,
  // External deliveries of a conversation on one channel that no provider accepted yet, by seq.
  `CREATE TABLE IF NOT EXISTS unsent_deliveries (
    conversation_id text, channel text, seq bigint, ord bigint, delivery_id text, message_id text,
    PRIMARY KEY ((conversation_id, channel), seq, ord, delivery_id))
    WITH ${SHORT_GC}`,
  // The conversation whose latest provider-accepted delivery went to an address (where a reply
  // from it goes), with that delivery's time. Written only with lightweight transactions, so a
  // later delivery always wins over an earlier one whatever order they are recorded in.
  `CREATE TABLE IF NOT EXISTS reply_targets (
    channel text, address text, conversation_id text, at text, PRIMARY KEY ((channel, address)))`,
  `CREATE TABLE IF NOT EXISTS provider_refs (
    channel text, provider_message_id text, delivery_id text, PRIMARY KEY ((channel, provider_message_id)))`,

  // ---------------------------------------------------------------- scans (outbox relay, parked, webhooks)
  // Time-bucketed queues: kind = unrouted | undispatched:<channel> | parked:<channel> |
  // webhook-due | webhook-done; bucket = minute of sort_key; shard spreads one minute's writes.
  `CREATE TABLE IF NOT EXISTS pending_items (
    kind text, bucket bigint, shard int, sort_key text, item_id text,
    PRIMARY KEY ((kind, bucket, shard), sort_key, item_id))
    WITH ${SHORT_GC}`,
  // The buckets of a kind that may still hold items, so a scan skips the empty past.
  `CREATE TABLE IF NOT EXISTS pending_buckets (kind text, bucket bigint, PRIMARY KEY ((kind), bucket))
    WITH ${SHORT_GC}`,
  // Every history entry by its time-based id, for the webhook dispatchers.
  `CREATE TABLE IF NOT EXISTS history_feed (
    bucket bigint, shard int, hid bigint, delivery_id text, message_id text, conversation_id text,
    sender_id text, recipient_id text, channel text, status text, at text, error text,
    PRIMARY KEY ((bucket, shard), hid, delivery_id))
    WITH default_time_to_live = ${HISTORY_FEED_TTL_SECONDS}`,

  // ---------------------------------------------------------------- caps
  // Numbered slots of an owner's capped items (scope = identities:<channel> | members | webhooks):
  // an item exists only while it holds a slot, and slots are claimed with INSERT ... IF NOT EXISTS,
  // so at most `max` items can hold one whatever the writes in parallel. Written only with
  // lightweight transactions (claim IF NOT EXISTS, release IF item = ...).
  `CREATE TABLE IF NOT EXISTS cap_slots (
    scope text, owner text, slot int, item text, claimed_at bigint, PRIMARY KEY ((scope, owner), slot))`,

  // ---------------------------------------------------------------- dead letters
  `CREATE TABLE IF NOT EXISTS dead_letters (
    id text PRIMARY KEY, reason text, source_topic text, source_partition int, source_offset text,
    record_key text, record_value text, headers text, first_seen text, status text, updated_at text)`,
  // Once per source record (INSERT ... IF NOT EXISTS).
  `CREATE TABLE IF NOT EXISTS dead_letter_sources (
    source_topic text, source_partition int, source_offset text, id text,
    PRIMARY KEY ((source_topic, source_partition, source_offset)))`,
  // Newest first. One partition: dead letters are incidents, few by nature.
  `CREATE TABLE IF NOT EXISTS dead_letter_log (
    scope text, first_seen text, id text, status text, PRIMARY KEY ((scope), first_seen, id))
    WITH CLUSTERING ORDER BY (first_seen DESC, id DESC)`,

  // ---------------------------------------------------------------- outbound webhooks
  `CREATE TABLE IF NOT EXISTS webhooks (
    webhook_id text PRIMARY KEY, owner_id text, url text, events text, secret text, created_at text, start_after bigint)`,
  `CREATE TABLE IF NOT EXISTS webhooks_by_owner (
    owner_id text, created_at text, webhook_id text, url text, events text, secret text, start_after bigint,
    PRIMARY KEY ((owner_id), created_at, webhook_id))`,
  `CREATE TABLE IF NOT EXISTS webhook_cursor (name text PRIMARY KEY, position bigint)`,
  `CREATE TABLE IF NOT EXISTS webhook_events (
    event_id text PRIMARY KEY, webhook_id text, event_type text, message_id text, seq bigint, body text,
    created_at text, status text, attempts int, next_attempt_at bigint, deadline bigint, lease_until bigint,
    attempt_ids text)`,
  // Pending events of one webhook and message, in seq order: only the first may be sent.
  `CREATE TABLE IF NOT EXISTS webhook_event_order (
    webhook_id text, message_id text, seq bigint, event_id text, PRIMARY KEY ((webhook_id, message_id), seq, event_id))
    WITH ${SHORT_GC}`,
  `CREATE TABLE IF NOT EXISTS webhook_events_by_webhook (
    webhook_id text, event_id text, PRIMARY KEY ((webhook_id), event_id))`,
  `CREATE TABLE IF NOT EXISTS webhook_attempts (
    webhook_id text, attempt_id bigint, event_id text, attempt int, at text, status_code int, error text,
    duration_ms int, result text, event_type text, message_id text,
    PRIMARY KEY ((webhook_id), attempt_id, event_id))
    WITH CLUSTERING ORDER BY (attempt_id DESC, event_id ASC)`,

  // ---------------------------------------------------------------- rate limits
  // One counter per key and window, written with LWT and a TTL (see CassandraRateLimitStore).
  `CREATE TABLE IF NOT EXISTS rate_limits (limit_key text, bucket bigint, hits int, PRIMARY KEY ((limit_key, bucket)))`,
];

/** The name of the table a `CREATE TABLE` statement creates. */
export function tableName(createTable: string): string {
  const m = /CREATE TABLE IF NOT EXISTS (\w+)/i.exec(createTable);
  if (!m) throw new Error(`not a CREATE TABLE IF NOT EXISTS statement: ${createTable.slice(0, 60)}`);
  return m[1]!;
}

const MESSAGE_COLUMNS =
  'message_id, conversation_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at, accepted, seq, routed_at';
const DELIVERY_COLUMNS =
  'message_id, ord, item, conversation_id, seq, recipient_id, channel, address, status, provider_message_id, error, at, updated_at, in_flight_since, next_attempt_at, attempts';
const DELIVERY_KEY = "message_id = ? AND kind = 'd' AND ord = ? AND item = ?";
const DEAD_LETTER_COLUMNS =
  'id, reason, source_topic, source_partition, source_offset, record_key, record_value, headers, first_seen, status, updated_at';
const EVENT_COLUMNS =
  'event_id, webhook_id, event_type, message_id, seq, body, created_at, status, attempts, next_attempt_at, deadline, lease_until, attempt_ids';
const FILE_COLUMNS =
  'file_id, uploader_id, conversation_id, filename, content_type, size, sha256, part_size, part_count, object_key, upload_id, state, created_at, expires_at, completed_at, verified_at';
const FEED_COLUMNS = 'hid, delivery_id, message_id, conversation_id, sender_id, recipient_id, channel, status, at, error';

/** Every CQL statement the store runs (all prepared). Tests check each against the schema. */
export const CQL = {
  health: 'SELECT release_version FROM system.local',
  tables: 'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?',

  insertUser: 'INSERT INTO users (user_id, username, password_hash, email, user_role, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  deleteUser: 'DELETE FROM users WHERE user_id = ?',
  setPasswordHash: 'UPDATE users SET password_hash = ? WHERE user_id = ?',
  setRole: 'UPDATE users SET user_role = ? WHERE user_id = ?',
  rateLimit: 'SELECT hits FROM rate_limits WHERE limit_key = ? AND bucket = ?',
  startRateLimit: 'INSERT INTO rate_limits (limit_key, bucket, hits) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
  addRateLimit: 'UPDATE rate_limits USING TTL ? SET hits = ? WHERE limit_key = ? AND bucket = ? IF hits = ?',
  user: 'SELECT user_id, username, password_hash, email, user_role, created_at FROM users WHERE user_id = ?',
  claimUsername: 'INSERT INTO users_by_name (username, user_id) VALUES (?, ?) IF NOT EXISTS',
  userIdByName: 'SELECT user_id FROM users_by_name WHERE username = ?',

  claimAddress: 'INSERT INTO identities (channel, address, user_id, linked_at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  identity: 'SELECT channel, address, user_id, linked_at FROM identities WHERE channel = ? AND address = ?',
  releaseAddress: 'DELETE FROM identities WHERE channel = ? AND address = ? IF user_id = ?',
  insertIdentityByUser: 'INSERT INTO identities_by_user (user_id, channel, address, linked_at) VALUES (?, ?, ?, ?)',
  moveAddress: 'UPDATE identities SET user_id = ?, linked_at = ? WHERE channel = ? AND address = ? IF user_id = ?',
  identitiesByUser: 'SELECT user_id, channel, address, linked_at FROM identities_by_user WHERE user_id = ?',
  // Pending links: every write a lightweight transaction, so a spent try or a use is never lost to a replace.
  challenge: 'SELECT user_id, channel, address, code_hash, created_at, expires_at, tries_left FROM identity_challenges WHERE user_id = ? AND channel = ? AND address = ?',
  challengesOf: 'SELECT user_id, channel, address, code_hash, created_at, expires_at, tries_left FROM identity_challenges WHERE user_id = ?',
  insertChallenge:
    'INSERT INTO identity_challenges (user_id, channel, address, code_hash, created_at, expires_at, tries_left) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  spendChallengeTry: 'UPDATE identity_challenges SET tries_left = ? WHERE user_id = ? AND channel = ? AND address = ? IF tries_left = ?',
  deleteChallenge: 'DELETE FROM identity_challenges WHERE user_id = ? AND channel = ? AND address = ? IF EXISTS',
  deleteIdentityByUser: 'DELETE FROM identities_by_user WHERE user_id = ? AND channel = ? AND address = ?',

  insertContact:
    'INSERT INTO contacts (contact_id, channel, address, display_name, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
  contact: 'SELECT contact_id, channel, address, display_name, created_at, merged_into, merged_at FROM contacts WHERE contact_id = ?',
  renameContact: 'UPDATE contacts SET display_name = ? WHERE contact_id = ? IF EXISTS',
  markContactMerged: 'UPDATE contacts SET merged_into = ?, merged_at = ? WHERE contact_id = ? IF merged_into = null',

  insertConversation:
    'INSERT INTO conversations (conversation_id, conversation_type, name, metadata, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
  conversation: 'SELECT conversation_id, conversation_type, name, metadata, created_at FROM conversations WHERE conversation_id = ?',
  // Members are only ever written with IF NOT EXISTS (a member's joining time and place never change).
  addMember: 'INSERT INTO conversation_members (conversation_id, user_id, joined_at, pos) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  members: 'SELECT user_id, pos FROM conversation_members WHERE conversation_id = ?',
  member: 'SELECT user_id FROM conversation_members WHERE conversation_id = ? AND user_id = ?',
  // A lightweight transaction like the inserts, so a removal and a (re)joining are ordered by Paxos.
  removeMember: 'DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ? IF EXISTS',
  deleteConversationByUser: 'DELETE FROM conversations_by_user WHERE user_id = ? AND conversation_id = ?',
  insertConversationByUser: 'INSERT INTO conversations_by_user (user_id, conversation_id) VALUES (?, ?)',

  insertFile: `INSERT INTO files (${FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
  file: `SELECT ${FILE_COLUMNS} FROM files WHERE file_id = ?`,
  moveFile: 'UPDATE files SET state = ?, completed_at = ?, verified_at = ?, expires_at = ? WHERE file_id = ? IF state = ?',
  fileParts: 'SELECT part_number, etag, size FROM file_parts WHERE file_id = ?',
  insertFilePart: 'INSERT INTO file_parts (file_id, part_number, etag, size) VALUES (?, ?, ?, ?)',
  openUploads: 'SELECT file_id FROM open_uploads WHERE uploader_id = ?',
  insertOpenUpload: 'INSERT INTO open_uploads (uploader_id, file_id) VALUES (?, ?)',
  deleteOpenUpload: 'DELETE FROM open_uploads WHERE uploader_id = ? AND file_id = ?',

  capSlots: 'SELECT slot, item, claimed_at FROM cap_slots WHERE scope = ? AND owner = ?',
  claimCapSlot: 'INSERT INTO cap_slots (scope, owner, slot, item, claimed_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
  releaseCapSlot: 'DELETE FROM cap_slots WHERE scope = ? AND owner = ? AND slot = ? IF item = ?',
  conversationsByUserAfter: 'SELECT conversation_id FROM conversations_by_user WHERE user_id = ? AND conversation_id > ? LIMIT ?',

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
  insertNote: 'INSERT INTO delivery_notes (message_id, hid, delivery_id, recipient_id, channel, status, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  notesOf: 'SELECT hid, delivery_id, recipient_id, channel, status, at, note FROM delivery_notes WHERE message_id = ?',
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
  unroutedIn: 'SELECT accepted, message_id FROM unrouted_by_conversation WHERE conversation_id = ?',
  replyTarget: 'SELECT conversation_id, at FROM reply_targets WHERE channel = ? AND address = ?',
  firstReplyTarget: 'INSERT INTO reply_targets (channel, address, conversation_id, at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  nextReplyTarget: 'UPDATE reply_targets SET conversation_id = ?, at = ? WHERE channel = ? AND address = ? IF at = ?',
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

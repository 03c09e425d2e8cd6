/**
 * The tables of the embedded store, created when a database is opened (every statement is
 * `IF NOT EXISTS` or `IF EXISTS`, so opening an existing file changes nothing but a dropped index). Times that are compared as
 * numbers (webhook events) are epoch ms; the others are RFC 3339 strings, which sort as times.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  user_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  email TEXT, role TEXT NOT NULL DEFAULT 'user', created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
  channel TEXT NOT NULL, address TEXT NOT NULL, user_id TEXT NOT NULL, linked_at TEXT NOT NULL,
  PRIMARY KEY (channel, address));
CREATE INDEX IF NOT EXISTS identities_user ON identities(user_id);
CREATE TABLE IF NOT EXISTS identity_challenges (
  user_id TEXT NOT NULL, channel TEXT NOT NULL, address TEXT NOT NULL, code_hash TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, tries_left INTEGER NOT NULL,
  PRIMARY KEY (user_id, channel, address));
CREATE TABLE IF NOT EXISTS contacts (
  contact_id TEXT PRIMARY KEY, channel TEXT NOT NULL, address TEXT NOT NULL, display_name TEXT,
  created_at TEXT NOT NULL, merged_into TEXT, merged_at TEXT);
CREATE TABLE IF NOT EXISTS reply_targets (
  channel TEXT NOT NULL, address TEXT NOT NULL, conversation_id TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (channel, address));
CREATE TABLE IF NOT EXISTS conversations (
  conversation_id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT, metadata TEXT,
  created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS members (
  conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, joined_at TEXT NOT NULL, pos INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id));
CREATE INDEX IF NOT EXISTS members_user ON members(user_id);
CREATE TABLE IF NOT EXISTS messages (
  message_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, sender_id TEXT NOT NULL,
  payload TEXT NOT NULL, channels TEXT NOT NULL, metadata TEXT, body_hash TEXT NOT NULL,
  trace_id TEXT NOT NULL, created_at TEXT NOT NULL, seq INTEGER, routed_at TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS messages_seq ON messages(conversation_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_unrouted ON messages(created_at) WHERE seq IS NULL;
CREATE INDEX IF NOT EXISTS messages_unrouted_conv ON messages(conversation_id) WHERE seq IS NULL;
CREATE TABLE IF NOT EXISTS deliveries (
  delivery_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  recipient_id TEXT NOT NULL, channel TEXT NOT NULL, address TEXT, status TEXT NOT NULL,
  provider_message_id TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  in_flight_since TEXT, next_attempt_at TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  UNIQUE (message_id, recipient_id, channel, address));
-- Look-ups by message_id use the UNIQUE index above (message_id first); a second index on it
-- only cost every routing write (~10 % of the router's routing CPU). Dropped from older files.
DROP INDEX IF EXISTS deliveries_message;
CREATE INDEX IF NOT EXISTS deliveries_provider ON deliveries(channel, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_unsent ON deliveries(conversation_id, channel)
  WHERE status = 'SENT' AND provider_message_id IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_parked ON deliveries(channel, next_attempt_at)
  WHERE next_attempt_at IS NOT NULL AND status = 'SENT' AND provider_message_id IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_undispatched ON deliveries(created_at)
  WHERE status = 'SENT' AND provider_message_id IS NULL AND channel <> 'internal';
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY, reason TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset TEXT NOT NULL,
  key TEXT NOT NULL, value TEXT NOT NULL, headers TEXT NOT NULL, first_seen TEXT NOT NULL, status TEXT NOT NULL,
  updated_at TEXT NOT NULL, UNIQUE (topic, partition, offset));
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, delivery_id TEXT,
  recipient_id TEXT, channel TEXT, status TEXT NOT NULL, at TEXT NOT NULL, error TEXT);
CREATE INDEX IF NOT EXISTS history_message ON history(message_id);
CREATE TABLE IF NOT EXISTS delivery_notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, delivery_id TEXT NOT NULL,
  recipient_id TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL, note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS delivery_notes_message ON delivery_notes(message_id);
CREATE TABLE IF NOT EXISTS webhooks (
  webhook_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
  secret TEXT NOT NULL, created_at TEXT NOT NULL, start_after INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks(owner_id);
CREATE TABLE IF NOT EXISTS webhook_cursor (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_events (
  event_id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, type TEXT NOT NULL, message_id TEXT NOT NULL,
  seq INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, deadline INTEGER NOT NULL,
  lease_until INTEGER);
CREATE INDEX IF NOT EXISTS webhook_events_due ON webhook_events(next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_events_order ON webhook_events(webhook_id, message_id, seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_events_done ON webhook_events(created_at) WHERE status <> 'pending';
CREATE TABLE IF NOT EXISTS webhook_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, webhook_id TEXT NOT NULL, attempt INTEGER NOT NULL,
  at TEXT NOT NULL, status_code INTEGER, error TEXT, duration_ms INTEGER NOT NULL, result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS webhook_attempts_webhook ON webhook_attempts(webhook_id, id);
CREATE INDEX IF NOT EXISTS webhook_attempts_event ON webhook_attempts(event_id);
CREATE TABLE IF NOT EXISTS rate_limits (
  limit_key TEXT NOT NULL, bucket INTEGER NOT NULL, hits INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (limit_key, bucket));
CREATE INDEX IF NOT EXISTS rate_limits_expiry ON rate_limits(expires_at);
CREATE TABLE IF NOT EXISTS files (
  file_id TEXT PRIMARY KEY, uploader_id TEXT NOT NULL, conversation_id TEXT NOT NULL, filename TEXT NOT NULL,
  content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, part_size INTEGER NOT NULL,
  part_count INTEGER NOT NULL, object_key TEXT NOT NULL, upload_id TEXT NOT NULL, state TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, completed_at TEXT, verified_at TEXT);
CREATE INDEX IF NOT EXISTS files_open ON files(uploader_id) WHERE state = 'uploading';
CREATE INDEX IF NOT EXISTS files_state ON files(state, expires_at);
CREATE TABLE IF NOT EXISTS file_parts (
  file_id TEXT NOT NULL, part_number INTEGER NOT NULL, etag TEXT NOT NULL, size INTEGER,
  PRIMARY KEY (file_id, part_number));
`;

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { canTransition } from '../domain/status.ts';
import type {
  Channel,
  Conversation,
  Delivery,
  DeliveryStatus,
  ExternalChannel,
  HistoryEntry,
  Identity,
  Message,
  StatusEvent,
  User,
} from '../domain/types.ts';
import type { PlannedDelivery } from '../domain/routing.ts';
import { conflict, notFound } from '../errors.ts';
import type { DeadLetter } from '../dead-letters.ts';
import type { AcceptResult, RouteResult } from '../ports/message-store.ts';
import type { ApplyResult } from '../ports/delivery-store.ts';
import type { LegacyStore as MessageStore } from '../ports/legacy-store.ts';
import type { NewUser } from '../ports/user-store.ts';
import type { ClaimFairness, HistoryRecord, NewWebhook, NewWebhookEvent, Webhook, WebhookAttempt, WebhookAttemptRecord, WebhookEvent, WebhookEventStatus } from '../ports/webhook-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  user_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  email TEXT, role TEXT NOT NULL DEFAULT 'user', created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
  channel TEXT NOT NULL, address TEXT NOT NULL, user_id TEXT NOT NULL, linked_at TEXT NOT NULL,
  PRIMARY KEY (channel, address));
CREATE INDEX IF NOT EXISTS identities_user ON identities(user_id);
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
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries(message_id);
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
`;

type Row = Record<string, unknown>;

const toMessage = (r: Row): Message => ({
  message_id: r.message_id as string,
  conversation_id: r.conversation_id as string,
  sender_id: r.sender_id as string,
  payload: JSON.parse(r.payload as string),
  channels: JSON.parse(r.channels as string),
  metadata: r.metadata ? JSON.parse(r.metadata as string) : null,
  body_hash: r.body_hash as string,
  trace_id: r.trace_id as string,
  created_at: r.created_at as string,
  seq: (r.seq as number | null) ?? null,
});

const toDelivery = (r: Row): Delivery => ({
  delivery_id: r.delivery_id as string,
  message_id: r.message_id as string,
  conversation_id: r.conversation_id as string,
  recipient_id: r.recipient_id as string,
  channel: r.channel as Channel,
  address: (r.address as string | null) ?? null,
  status: r.status as DeliveryStatus,
  provider_message_id: (r.provider_message_id as string | null) ?? null,
  error: r.error ? JSON.parse(r.error as string) : null,
  updated_at: r.updated_at as string,
  in_flight_since: (r.in_flight_since as string | null) ?? null,
  next_attempt_at: (r.next_attempt_at as string | null) ?? null,
});

const toDeadLetter = (r: Row): DeadLetter => ({
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

const toUser = (r: Row): User => ({
  user_id: r.user_id as string,
  username: r.username as string,
  email: (r.email as string | null) ?? null,
  role: r.role as User['role'],
  created_at: r.created_at as string,
});

/**
 * The embedded store: one SQLite file in WAL mode. Several processes may open the same file;
 * every multi-row change is one transaction, so a crash leaves either all of it or none.
 */
export class SqliteMessageStore implements MessageStore {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteMessageStore['prepare']>;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmt = this.prepare();
  }

  private prepare() {
    const d = this.db;
    return {
      insertUser: d.prepare(
        'INSERT INTO users (user_id, username, password_hash, email, role, created_at) VALUES (@user_id, @username, @password_hash, @email, @role, @created_at)',
      ),
      userByName: d.prepare('SELECT * FROM users WHERE username = ?'),
      userById: d.prepare('SELECT * FROM users WHERE user_id = ?'),
      identity: d.prepare('SELECT * FROM identities WHERE channel = ? AND address = ?'),
      insertIdentity: d.prepare(
        'INSERT INTO identities (channel, address, user_id, linked_at) VALUES (@channel, @address, @user_id, @linked_at)',
      ),
      deleteIdentity: d.prepare('DELETE FROM identities WHERE user_id = ? AND channel = ? AND address = ?'),
      insertConversation: d.prepare(
        'INSERT INTO conversations (conversation_id, type, name, metadata, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertMember: d.prepare(
        `INSERT OR IGNORE INTO members (conversation_id, user_id, joined_at, pos)
         VALUES (?, ?, ?, (SELECT COALESCE(MAX(pos), 0) + 1 FROM members WHERE conversation_id = ?))`,
      ),
      conversation: d.prepare('SELECT * FROM conversations WHERE conversation_id = ?'),
      membersOf: d.prepare('SELECT user_id FROM members WHERE conversation_id = ? ORDER BY pos'),
      conversationsOf: d.prepare(
        'SELECT c.* FROM conversations c JOIN members m ON m.conversation_id = c.conversation_id WHERE m.user_id = ? ORDER BY c.created_at, c.conversation_id',
      ),
      insertMessage: d.prepare(
        `INSERT OR IGNORE INTO messages (message_id, conversation_id, sender_id, payload, channels, metadata, body_hash, trace_id, created_at)
         VALUES (@message_id, @conversation_id, @sender_id, @payload, @channels, @metadata, @body_hash, @trace_id, @created_at)`,
      ),
      message: d.prepare('SELECT * FROM messages WHERE message_id = ?'),
      listMessages: d.prepare(
        'SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      unrouted: d.prepare('SELECT * FROM messages WHERE seq IS NULL AND created_at < ? ORDER BY created_at LIMIT ?'),
      // rowid is acceptance order: the store assigns it when the API commits the message.
      unroutedBefore: d.prepare(
        `SELECT o.* FROM messages o JOIN messages m ON m.message_id = ?
         WHERE o.conversation_id = m.conversation_id AND o.seq IS NULL AND o.rowid < m.rowid ORDER BY o.rowid`,
      ),
      nextSeq: d.prepare('UPDATE conversations SET last_seq = last_seq + 1 WHERE conversation_id = ? RETURNING last_seq'),
      setSeq: d.prepare('UPDATE messages SET seq = ?, routed_at = ? WHERE message_id = ?'),
      insertDelivery: d.prepare(
        `INSERT INTO deliveries (delivery_id, message_id, conversation_id, recipient_id, channel, address, status, error, created_at, updated_at)
         VALUES (@delivery_id, @message_id, @conversation_id, @recipient_id, @channel, @address, @status, @error, @at, @at)`,
      ),
      insertHistory: d.prepare(
        'INSERT INTO history (message_id, delivery_id, recipient_id, channel, status, at, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      delivery: d.prepare('SELECT * FROM deliveries WHERE delivery_id = ?'),
      deliveriesOf: d.prepare('SELECT * FROM deliveries WHERE message_id = ? ORDER BY rowid'),
      undispatched: d.prepare(
        `SELECT * FROM deliveries WHERE status = 'SENT' AND provider_message_id IS NULL AND channel <> 'internal'
         AND next_attempt_at IS NULL AND created_at < ? ORDER BY created_at LIMIT ?`,
      ),
      unsentBefore: d.prepare(
        `SELECT d.*, m.seq AS seq FROM deliveries d JOIN messages m ON m.message_id = d.message_id
         WHERE d.conversation_id = ? AND d.channel = ? AND d.status = 'SENT' AND d.provider_message_id IS NULL
         AND m.seq < ? ORDER BY m.seq, d.rowid`,
      ),
      park: d.prepare('UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1 WHERE delivery_id = ?'),
      dueParked: d.prepare(
        `SELECT * FROM deliveries WHERE channel = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
         AND status = 'SENT' AND provider_message_id IS NULL ORDER BY next_attempt_at LIMIT ?`,
      ),
      setProviderRef: d.prepare(
        'UPDATE deliveries SET provider_message_id = ?, in_flight_since = NULL, next_attempt_at = NULL WHERE delivery_id = ? AND (provider_message_id IS NULL OR provider_message_id = ?)',
      ),
      countUnsent: d.prepare(
        `SELECT COUNT(*) AS n FROM deliveries WHERE channel = ? AND status = 'SENT' AND provider_message_id IS NULL`,
      ),
      setInFlight: d.prepare('UPDATE deliveries SET in_flight_since = ? WHERE delivery_id = ?'),
      byProviderRef: d.prepare('SELECT * FROM deliveries WHERE channel = ? AND provider_message_id = ?'),
      setStatus: d.prepare('UPDATE deliveries SET status = ?, error = ?, updated_at = ? WHERE delivery_id = ?'),
      history: d.prepare('SELECT * FROM history WHERE message_id = ? ORDER BY at, id'),
    };
  }

  private conversationRow(id: string): Conversation | null {
    const r = this.stmt.conversation.get(id) as Row | undefined;
    if (!r) return null;
    return {
      conversation_id: r.conversation_id as string,
      type: r.type as Conversation['type'],
      name: (r.name as string | null) ?? null,
      metadata: r.metadata ? JSON.parse(r.metadata as string) : null,
      created_at: r.created_at as string,
      members: (this.stmt.membersOf.all(id) as Row[]).map((m) => m.user_id as string),
    };
  }

  async createUser(user: NewUser): Promise<User> {
    try {
      this.stmt.insertUser.run({ email: null, role: 'user', ...user });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict(`username ${user.username} is taken`);
      throw err;
    }
    return toUser(this.stmt.userById.get(user.user_id) as Row);
  }

  async findUserByName(username: string) {
    const r = this.stmt.userByName.get(username) as Row | undefined;
    return r ? { ...toUser(r), password_hash: r.password_hash as string } : null;
  }

  async getUser(userId: string) {
    const r = this.stmt.userById.get(userId) as Row | undefined;
    return r ? toUser(r) : null;
  }

  async linkIdentity(identity: Identity): Promise<Identity> {
    return this.db.transaction(() => {
      const existing = this.stmt.identity.get(identity.channel, identity.address) as Identity | undefined;
      if (existing) {
        if (existing.user_id !== identity.user_id) {
          throw conflict(`${identity.channel} address ${identity.address} is linked to another user`);
        }
        return existing;
      }
      this.stmt.insertIdentity.run(identity);
      return identity;
    }).immediate();
  }

  async listIdentities(userIds: string[]): Promise<Identity[]> {
    if (userIds.length === 0) return [];
    const q = `SELECT * FROM identities WHERE user_id IN (${userIds.map(() => '?').join(',')}) ORDER BY linked_at, channel, address`;
    return this.db.prepare(q).all(...userIds) as Identity[];
  }

  async unlinkIdentity(userId: string, channel: ExternalChannel, address: string) {
    return this.stmt.deleteIdentity.run(userId, channel, address).changes > 0;
  }

  async findIdentity(channel: ExternalChannel, address: string) {
    return (this.stmt.identity.get(channel, address) as Identity | undefined) ?? null;
  }

  async createConversation(c: Conversation): Promise<Conversation> {
    this.db.transaction(() => {
      this.stmt.insertConversation.run(c.conversation_id, c.type, c.name, c.metadata ? JSON.stringify(c.metadata) : null, c.created_at);
      for (const m of c.members) this.stmt.insertMember.run(c.conversation_id, m, c.created_at, c.conversation_id);
    }).immediate();
    return this.conversationRow(c.conversation_id)!;
  }

  async getConversation(id: string) {
    return this.conversationRow(id);
  }

  async listConversations(userId: string) {
    return (this.stmt.conversationsOf.all(userId) as Row[]).map((r) => this.conversationRow(r.conversation_id as string)!);
  }

  async addMember(conversationId: string, userId: string, at: string) {
    if (!this.conversationRow(conversationId)) throw notFound('conversation');
    this.stmt.insertMember.run(conversationId, userId, at, conversationId);
    return this.conversationRow(conversationId)!;
  }

  async acceptMessage(m: Omit<Message, 'seq'>): Promise<AcceptResult> {
    const info = this.stmt.insertMessage.run({
      ...m,
      payload: JSON.stringify(m.payload),
      channels: JSON.stringify(m.channels),
      metadata: m.metadata ? JSON.stringify(m.metadata) : null,
    });
    const stored = toMessage(this.stmt.message.get(m.message_id) as Row);
    return { message: stored, created: info.changes > 0 };
  }

  async getMessage(id: string) {
    const r = this.stmt.message.get(id) as Row | undefined;
    return r ? toMessage(r) : null;
  }

  async listMessages(conversationId: string, afterSeq: number, limit: number) {
    return (this.stmt.listMessages.all(conversationId, afterSeq, limit) as Row[]).map(toMessage);
  }

  async listUnrouted(before: string, limit: number) {
    return (this.stmt.unrouted.all(before, limit) as Row[]).map(toMessage);
  }

  async listUnroutedBefore(messageId: string) {
    return (this.stmt.unroutedBefore.all(messageId) as Row[]).map(toMessage);
  }

  async routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult> {
    return this.db.transaction((): RouteResult => {
      const m = this.stmt.message.get(messageId) as Row | undefined;
      if (!m) throw notFound(`message ${messageId}`);
      if (m.seq !== null && m.seq !== undefined) {
        return {
          seq: m.seq as number,
          deliveries: (this.stmt.deliveriesOf.all(messageId) as Row[]).map(toDelivery),
          routedNow: false,
        };
      }
      const next = this.stmt.nextSeq.get(m.conversation_id) as { last_seq: number } | undefined;
      if (!next) throw notFound(`conversation ${m.conversation_id as string}`);
      this.stmt.setSeq.run(next.last_seq, at, messageId);
      for (const p of plan) {
        const status: DeliveryStatus = p.failed ? 'FAILED' : 'SENT';
        const id = randomUUID();
        const error = p.failed ? JSON.stringify(p.failed) : null;
        this.stmt.insertDelivery.run({
          delivery_id: id,
          message_id: messageId,
          conversation_id: m.conversation_id,
          recipient_id: p.recipient_id,
          channel: p.channel,
          address: p.address,
          status,
          error,
          at,
        });
        this.stmt.insertHistory.run(messageId, id, p.recipient_id, p.channel, status, at, error);
      }
      return {
        seq: next.last_seq,
        deliveries: (this.stmt.deliveriesOf.all(messageId) as Row[]).map(toDelivery),
        routedNow: true,
      };
    }).immediate();
  }

  async getDelivery(id: string) {
    const r = this.stmt.delivery.get(id) as Row | undefined;
    return r ? toDelivery(r) : null;
  }

  async listDeliveries(messageId: string) {
    return (this.stmt.deliveriesOf.all(messageId) as Row[]).map(toDelivery);
  }

  async listUndispatched(before: string, limit: number) {
    return (this.stmt.undispatched.all(before, limit) as Row[]).map(toDelivery);
  }

  async listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number) {
    return (this.stmt.unsentBefore.all(conversationId, channel, beforeSeq) as Row[]).map((r) => ({
      ...toDelivery(r),
      seq: r.seq as number,
    }));
  }

  async parkDelivery(deliveryId: string, nextAttemptAt: string) {
    this.stmt.park.run(nextAttemptAt, deliveryId);
  }

  async listDueParked(channel: ExternalChannel, now: string, limit: number) {
    return (this.stmt.dueParked.all(channel, now, limit) as Row[]).map(toDelivery);
  }

  async countUnsent(channel: ExternalChannel) {
    return (this.stmt.countUnsent.get(channel) as { n: number }).n;
  }

  async markInFlight(deliveryId: string, at: string) {
    this.stmt.setInFlight.run(at, deliveryId);
  }

  async clearInFlight(deliveryId: string) {
    this.stmt.setInFlight.run(null, deliveryId);
  }

  async recordProviderRef(deliveryId: string, providerMessageId: string) {
    return this.stmt.setProviderRef.run(providerMessageId, deliveryId, providerMessageId).changes > 0;
  }

  async findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string) {
    const r = this.stmt.byProviderRef.get(channel, providerMessageId) as Row | undefined;
    return r ? toDelivery(r) : null;
  }

  async applyStatus(e: StatusEvent): Promise<ApplyResult> {
    return this.db.transaction((): ApplyResult => {
      const r = this.stmt.delivery.get(e.delivery_id) as Row | undefined;
      if (!r) return { applied: false, delivery: null };
      const current = toDelivery(r);
      if (!canTransition(current.status, e.status)) return { applied: false, delivery: current };
      const error = e.error ? JSON.stringify(e.error) : null;
      this.stmt.setStatus.run(e.status, error ?? r.error ?? null, e.at, e.delivery_id);
      this.stmt.insertHistory.run(current.message_id, current.delivery_id, current.recipient_id, current.channel, e.status, e.at, error);
      return { applied: true, delivery: toDelivery(this.stmt.delivery.get(e.delivery_id) as Row) };
    }).immediate();
  }

  async deliveriesFor(recipientId: string, messageIds: string[]) {
    if (messageIds.length === 0) return [];
    const q = `SELECT * FROM deliveries WHERE recipient_id = ? AND message_id IN (${messageIds.map(() => '?').join(',')}) ORDER BY rowid`;
    return (this.db.prepare(q).all(recipientId, ...messageIds) as Row[]).map(toDelivery);
  }

  async history(messageId: string): Promise<HistoryEntry[]> {
    const m = this.stmt.message.get(messageId) as Row | undefined;
    if (!m) return [];
    const entries: HistoryEntry[] = [{ status: 'SENT', at: m.created_at as string }];
    for (const h of this.stmt.history.all(messageId) as Row[]) {
      const e: HistoryEntry = {
        status: h.status as DeliveryStatus,
        at: h.at as string,
        recipient_id: h.recipient_id as string,
        channel: h.channel as Channel,
        delivery_id: h.delivery_id as string,
      };
      if (h.error) e.error = JSON.parse(h.error as string);
      entries.push(e);
    }
    return entries;
  }

  async addDeadLetter(letter: DeadLetter) {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO dead_letters (id, reason, topic, partition, offset, key, value, headers, first_seen, status, updated_at)
         VALUES (@id, @reason, @topic, @partition, @offset, @key, @value, @headers, @first_seen, @status, @updated_at)`,
      )
      .run({ ...letter, headers: JSON.stringify(letter.headers) });
    const r = this.db.prepare('SELECT * FROM dead_letters WHERE topic = ? AND partition = ? AND offset = ?').get(letter.topic, letter.partition, letter.offset) as Row;
    return toDeadLetter(r);
  }

  async listDeadLetters(status?: DeadLetter['status'], limit = 500) {
    const rows = status
      ? this.db.prepare('SELECT * FROM dead_letters WHERE status = ? ORDER BY first_seen DESC, rowid DESC LIMIT ?').all(status, limit)
      : this.db.prepare('SELECT * FROM dead_letters ORDER BY first_seen DESC, rowid DESC LIMIT ?').all(limit);
    return (rows as Row[]).map(toDeadLetter);
  }

  async getDeadLetter(id: string) {
    const r = this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    return r ? toDeadLetter(r) : null;
  }

  async setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string) {
    this.db.prepare('UPDATE dead_letters SET status = ?, updated_at = ? WHERE id = ?').run(status, at, id);
    const r = this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw notFound('dead letter');
    return toDeadLetter(r);
  }

  async healthy() {
    try {
      this.db.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  async close() {
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- outbound webhooks (services/webhooks)

  /** Tables of the outbound webhooks, created on first use. Times that are compared are epoch ms. */
  private static readonly WEBHOOK_SCHEMA = `
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
`;

  private webhookStatements: ReturnType<SqliteMessageStore['prepareWebhooks']> | null = null;

  private get wh() {
    if (!this.webhookStatements) {
      this.db.exec(SqliteMessageStore.WEBHOOK_SCHEMA);
      this.webhookStatements = this.prepareWebhooks();
    }
    return this.webhookStatements;
  }

  private prepareWebhooks() {
    const d = this.db;
    return {
      insert: d.prepare(
        `INSERT INTO webhooks (webhook_id, owner_id, url, events, secret, created_at, start_after)
         VALUES (@webhook_id, @owner_id, @url, @events, @secret, @created_at, (SELECT COALESCE(MAX(id), 0) FROM history))`,
      ),
      byId: d.prepare('SELECT * FROM webhooks WHERE webhook_id = ?'),
      byOwner: d.prepare('SELECT * FROM webhooks WHERE owner_id = ? ORDER BY created_at, rowid'),
      delete: d.prepare('DELETE FROM webhooks WHERE owner_id = ? AND webhook_id = ?'),
      deleteEvents: d.prepare('DELETE FROM webhook_events WHERE webhook_id = ?'),
      deleteAttempts: d.prepare('DELETE FROM webhook_attempts WHERE webhook_id = ?'),
      cursor: d.prepare("SELECT position FROM webhook_cursor WHERE name = 'history'"),
      moveCursor: d.prepare(
        `INSERT INTO webhook_cursor (name, position) VALUES ('history', ?)
         ON CONFLICT(name) DO UPDATE SET position = MAX(position, excluded.position)`,
      ),
      windowEnd: d.prepare('SELECT MAX(id) AS last FROM (SELECT id FROM history WHERE id > ? ORDER BY id LIMIT ?)'),
      window: d.prepare(
        `SELECT h.*, m.sender_id AS sender_id, m.conversation_id AS conversation_id
         FROM history h JOIN messages m ON m.message_id = h.message_id
         WHERE h.id > ? AND h.id <= ? AND m.sender_id IN (SELECT owner_id FROM webhooks) ORDER BY h.id`,
      ),
      insertEvent: d.prepare(
        `INSERT OR IGNORE INTO webhook_events (event_id, webhook_id, type, message_id, seq, body, created_at, next_attempt_at, deadline)
         VALUES (@event_id, @webhook_id, @type, @message_id, @seq, @body, @created_at, @next_attempt_at, @deadline)`,
      ),
      due: d.prepare(
        `SELECT * FROM (
           SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.webhook_id ORDER BY e.next_attempt_at, e.seq) AS nth FROM webhook_events e
           WHERE e.status = 'pending' AND e.next_attempt_at <= @now AND (e.lease_until IS NULL OR e.lease_until < @now)
           AND e.webhook_id NOT IN (SELECT value FROM json_each(@skip))
           AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id AND p.message_id = e.message_id
                           AND p.status = 'pending' AND p.seq < e.seq))
         WHERE nth <= @perWebhook
         ORDER BY next_attempt_at, seq LIMIT @limit`,
      ),
      lease: d.prepare(
        `UPDATE webhook_events SET lease_until = @until
         WHERE event_id = @id AND status = 'pending' AND (lease_until IS NULL OR lease_until < @now)`,
      ),
      insertAttempt: d.prepare(
        `INSERT INTO webhook_attempts (event_id, webhook_id, attempt, at, status_code, error, duration_ms, result)
         VALUES (@event_id, @webhook_id, (SELECT COUNT(*) + 1 FROM webhook_attempts WHERE event_id = @event_id),
                 @at, @status_code, @error, @duration_ms, @result)`,
      ),
      settle: d.prepare(
        `UPDATE webhook_events SET attempts = attempts + 1, lease_until = NULL,
           status = CASE WHEN status = 'pending' THEN @status ELSE status END,
           next_attempt_at = CASE WHEN status = 'pending' THEN @next_attempt_at ELSE next_attempt_at END
         WHERE event_id = @event_id`,
      ),
      attempts: d.prepare(
        `SELECT a.*, e.type AS type, e.message_id AS message_id FROM webhook_attempts a
         JOIN webhook_events e ON e.event_id = a.event_id WHERE a.webhook_id = ? ORDER BY a.id DESC LIMIT ?`,
      ),
      pending: d.prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE status = 'pending'"),
      pruneAttempts: d.prepare(
        `DELETE FROM webhook_attempts WHERE event_id IN
         (SELECT event_id FROM webhook_events WHERE status <> 'pending' AND created_at < ?)`,
      ),
      pruneEvents: d.prepare("DELETE FROM webhook_events WHERE status <> 'pending' AND created_at < ?"),
    };
  }

  private static toWebhook(r: Row): Webhook {
    return {
      webhook_id: r.webhook_id as string,
      owner_id: r.owner_id as string,
      url: r.url as string,
      events: JSON.parse(r.events as string),
      secret: r.secret as string,
      created_at: r.created_at as string,
      start_after: r.start_after as number,
    };
  }

  async createWebhook(webhook: NewWebhook): Promise<Webhook> {
    this.wh.insert.run({ ...webhook, events: JSON.stringify(webhook.events) });
    return SqliteMessageStore.toWebhook(this.wh.byId.get(webhook.webhook_id) as Row);
  }

  async listWebhooks(ownerId: string): Promise<Webhook[]> {
    return (this.wh.byOwner.all(ownerId) as Row[]).map(SqliteMessageStore.toWebhook);
  }

  async getWebhook(webhookId: string): Promise<Webhook | null> {
    const r = this.wh.byId.get(webhookId) as Row | undefined;
    return r ? SqliteMessageStore.toWebhook(r) : null;
  }

  async deleteWebhook(ownerId: string, webhookId: string): Promise<boolean> {
    const wh = this.wh;
    return this.db.transaction(() => {
      if (wh.delete.run(ownerId, webhookId).changes === 0) return false;
      wh.deleteEvents.run(webhookId);
      wh.deleteAttempts.run(webhookId);
      return true;
    }).immediate();
  }

  async webhookCursor(): Promise<number> {
    return ((this.wh.cursor.get() as { position: number } | undefined)?.position) ?? 0;
  }

  async historyForWebhooks(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }> {
    const wh = this.wh;
    return this.db.transaction(() => {
      const last = (wh.windowEnd.get(afterId, limit) as { last: number | null }).last;
      if (last === null) return { entries: [], lastId: afterId };
      const entries = (wh.window.all(afterId, last) as Row[]).map(
        (r): HistoryRecord => ({
          id: r.id as number,
          message_id: r.message_id as string,
          conversation_id: r.conversation_id as string,
          sender_id: r.sender_id as string,
          delivery_id: (r.delivery_id as string | null) ?? null,
          recipient_id: (r.recipient_id as string | null) ?? null,
          channel: (r.channel as string | null) ?? null,
          status: r.status as DeliveryStatus,
          at: r.at as string,
          error: r.error ? JSON.parse(r.error as string) : null,
        }),
      );
      return { entries, lastId: last };
    })();
  }

  async enqueueWebhookEvents(events: NewWebhookEvent[], cursor: number): Promise<void> {
    const wh = this.wh;
    this.db.transaction(() => {
      for (const e of events) wh.insertEvent.run(e);
      wh.moveCursor.run(cursor);
    }).immediate();
  }

  async claimWebhookEvents(now: number, leaseUntil: number, limit: number, fairness: ClaimFairness = {}): Promise<WebhookEvent[]> {
    const wh = this.wh;
    const skip = JSON.stringify(fairness.skipWebhooks ?? []);
    const perWebhook = fairness.perWebhook ?? limit;
    return this.db.transaction(() => {
      const claimed: WebhookEvent[] = [];
      for (const r of wh.due.all({ now, limit, skip, perWebhook }) as Row[]) {
        if (wh.lease.run({ id: r.event_id, until: leaseUntil, now }).changes === 0) continue;
        claimed.push({
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
          lease_until: leaseUntil,
        });
      }
      return claimed;
    }).immediate();
  }

  async recordWebhookAttempt(attempt: WebhookAttempt, next: { status: WebhookEventStatus; next_attempt_at: number }): Promise<void> {
    const wh = this.wh;
    this.db.transaction(() => {
      wh.insertAttempt.run(attempt);
      wh.settle.run({ event_id: attempt.event_id, ...next });
    }).immediate();
  }

  async listWebhookAttempts(webhookId: string, limit: number): Promise<WebhookAttemptRecord[]> {
    return (this.wh.attempts.all(webhookId, limit) as Row[]).map((r) => ({
      event_id: r.event_id as string,
      webhook_id: r.webhook_id as string,
      attempt: r.attempt as number,
      type: r.type as string,
      message_id: r.message_id as string,
      at: r.at as string,
      status_code: (r.status_code as number | null) ?? null,
      error: (r.error as string | null) ?? null,
      duration_ms: r.duration_ms as number,
      result: r.result as WebhookAttempt['result'],
    }));
  }

  async countPendingWebhookEvents(): Promise<number> {
    return (this.wh.pending.get() as { n: number }).n;
  }

  async pruneWebhookEvents(before: string): Promise<number> {
    const wh = this.wh;
    return this.db.transaction(() => {
      wh.pruneAttempts.run(before);
      return wh.pruneEvents.run(before).changes;
    }).immediate();
  }
}

import type {
  Conversation,
  Delivery,
  DeliveryError,
  ExternalChannel,
  HistoryEntry,
  Identity,
  Message,
  StatusEvent,
  User,
} from '../domain/types.ts';
import type { PlannedDelivery } from '../domain/routing.ts';
import type { DeadLetter } from '../dead-letters.ts';

export interface NewUser {
  user_id: string;
  username: string;
  password_hash: string;
  email?: string | null;
  role?: 'user' | 'admin';
  created_at: string;
}

/** The outcome of accepting a message: the stored message, and whether this call created it. */
export interface AcceptResult {
  message: Message;
  created: boolean;
}

/** The outcome of routing a message: its sequence number and its deliveries. */
export interface RouteResult {
  seq: number;
  deliveries: Delivery[];
  /** True when this call assigned the sequence (false for a replay of a routed message). */
  routedNow: boolean;
}

export interface ApplyResult {
  applied: boolean;
  delivery: Delivery | null;
}

/** Durable state of the platform: users, conversations, messages, deliveries and their history. */
export interface MessageStore {
  /** Creates a user; throws a `conflict` AppError when the username is taken. */
  createUser(user: NewUser): Promise<User>;
  /** The user and its password hash, by username. */
  findUserByName(username: string): Promise<(User & { password_hash: string }) | null>;
  getUser(userId: string): Promise<User | null>;

  /** Links an external address to a user; throws `conflict` when another user holds it. Idempotent for the same user. */
  linkIdentity(identity: Identity): Promise<Identity>;
  listIdentities(userIds: string[]): Promise<Identity[]>;
  /** Returns whether something was removed. */
  unlinkIdentity(userId: string, channel: ExternalChannel, address: string): Promise<boolean>;
  findIdentity(channel: ExternalChannel, address: string): Promise<Identity | null>;

  createConversation(conversation: Conversation): Promise<Conversation>;
  getConversation(conversationId: string): Promise<Conversation | null>;
  listConversations(userId: string): Promise<Conversation[]>;
  /** Adds a member (no-op when already one) and returns the conversation. */
  addMember(conversationId: string, userId: string, at: string): Promise<Conversation>;

  /**
   * Stores an accepted message durably, once per `message_id`. A second call with the same id
   * returns the stored message with `created: false` (the caller compares `body_hash`).
   */
  acceptMessage(message: Omit<Message, 'seq'>): Promise<AcceptResult>;
  getMessage(messageId: string): Promise<Message | null>;
  /** Messages of a conversation with `seq > afterSeq`, in seq order, at most `limit`. */
  listMessages(conversationId: string, afterSeq: number, limit: number): Promise<Message[]>;
  /** Accepted messages that no router has ordered yet, accepted before `before` (the outbox relay reads these). */
  listUnrouted(before: string, limit: number): Promise<Message[]>;

  /**
   * Messages of the same conversation accepted before this one (in acceptance order) that no
   * router has ordered yet: they must take their seq first.
   */
  listUnroutedBefore(messageId: string): Promise<Message[]>;

  /**
   * Gives a message its next per-conversation sequence number and creates its deliveries, in one
   * atomic step. Idempotent: a message already routed returns its seq and deliveries unchanged.
   */
  routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult>;

  getDelivery(deliveryId: string): Promise<Delivery | null>;
  listDeliveries(messageId: string): Promise<Delivery[]>;
  /** External deliveries still SENT with no provider id, created before `before` (for re-dispatch). */
  listUndispatched(before: string, limit: number): Promise<Delivery[]>;
  /**
   * External deliveries of a conversation on one channel that no provider has accepted yet and
   * whose message's seq is below `beforeSeq`, in seq order (what must go out before that seq).
   */
  listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number): Promise<(Delivery & { seq: number })[]>;
  /** Notes that a provider call for this delivery starts now (its outcome is unknown until recorded). */
  markInFlight(deliveryId: string, at: string): Promise<void>;
  /** Notes that the provider answered without accepting (the call is no longer in doubt). */
  clearInFlight(deliveryId: string): Promise<void>;
  /** Parks a delivery until `nextAttemptAt` (store-and-forward), counting the attempt. */
  parkDelivery(deliveryId: string, nextAttemptAt: string): Promise<void>;
  /**
   * Parked deliveries of a channel due by `now`, oldest due first: the heads of conversations
   * waiting for their provider.
   */
  listDueParked(channel: ExternalChannel, now: string, limit: number): Promise<Delivery[]>;
  /** How many external deliveries on a channel wait for their provider (SENT, no provider id). */
  countUnsent(channel: ExternalChannel): Promise<number>;
  /**
   * Records the provider's id for a delivery the provider accepted, and ends its in-flight mark.
   * Returns false when the delivery already had a different provider id (it was sent twice).
   */
  recordProviderRef(deliveryId: string, providerMessageId: string): Promise<boolean>;
  findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string): Promise<Delivery | null>;

  /**
   * Applies a status event with the forward-only rule, appending to the history only when the
   * status really changed. Returns whether it applied.
   */
  applyStatus(event: StatusEvent): Promise<ApplyResult>;
  /** A recipient's deliveries of the given messages. */
  deliveriesFor(recipientId: string, messageIds: string[]): Promise<Delivery[]>;

  history(messageId: string): Promise<HistoryEntry[]>;

  /** Stores a dead letter once per source record (topic, partition, offset); returns the stored one. */
  addDeadLetter(letter: DeadLetter): Promise<DeadLetter>;
  /** Dead letters, newest first, optionally of one status. */
  listDeadLetters(status?: DeadLetter['status'], limit?: number): Promise<DeadLetter[]>;
  getDeadLetter(id: string): Promise<DeadLetter | null>;
  setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string): Promise<DeadLetter>;

  /** Whether the store answers (for readiness). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;

  // ---------------------------------------------------------------- outbound webhooks (services/webhooks)

  /**
   * Saves a webhook subscription. It receives the events of history entries made after this call:
   * the store notes the newest history id now as the subscription's `start_after`.
   */
  createWebhook(webhook: NewWebhook): Promise<Webhook>;
  /** A user's webhooks, oldest first. */
  listWebhooks(ownerId: string): Promise<Webhook[]>;
  getWebhook(webhookId: string): Promise<Webhook | null>;
  /** Deletes a user's webhook with its events and attempts; returns whether there was one to delete. */
  deleteWebhook(ownerId: string, webhookId: string): Promise<boolean>;
  /** The history id up to which the webhook dispatchers have turned history into events. @default 0 */
  webhookCursor(): Promise<number>;
  /**
   * Looks at up to `limit` history entries with an id above `afterId` and returns those of messages
   * whose sender has a webhook, in id order, with the last id looked at (`afterId` when none).
   * History ids must become visible in increasing order (SQLite: one writer at a time).
   */
  historyForWebhooks(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }>;
  /**
   * Stores webhook events, ignoring event ids already stored, and moves the cursor forward to
   * `cursor` (never back), in one transaction.
   */
  enqueueWebhookEvents(events: NewWebhookEvent[], cursor: number): Promise<void>;
  /**
   * Leases up to `limit` pending events due at `now` (epoch ms) until `leaseUntil`, so that no other
   * dispatcher takes them meanwhile. An event is not claimed while an earlier event (lower `seq`) of
   * the same webhook and message is still pending: events of one message go out in order.
   */
  claimWebhookEvents(now: number, leaseUntil: number, limit: number): Promise<WebhookEvent[]>;
  /**
   * Records one delivery attempt and moves the event to its next state, ending the lease. An event
   * already `delivered` or `failed` keeps that state (another dispatcher finished it first).
   */
  recordWebhookAttempt(attempt: WebhookAttempt, next: { status: WebhookEventStatus; next_attempt_at: number }): Promise<void>;
  /** A webhook's most recent delivery attempts, newest first. */
  listWebhookAttempts(webhookId: string, limit: number): Promise<WebhookAttemptRecord[]>;
  /** How many webhook events wait to be delivered. */
  countPendingWebhookEvents(): Promise<number>;
  /** Deletes delivered and failed events (and their attempts) created before `before`; returns how many events. */
  pruneWebhookEvents(before: string): Promise<number>;
}

export type { DeliveryError };

// ---------------------------------------------------------------- outbound webhooks (services/webhooks)

/** A webhook subscription as its owner creates it. */
export interface NewWebhook {
  webhook_id: string;
  /** The user who created it; it receives events of the messages this user sent. */
  owner_id: string;
  url: string;
  /** Event types, e.g. `message.delivered`. */
  events: string[];
  /** The signing secret (kept, since every callback is signed with it; never shown after creation). */
  secret: string;
  created_at: string;
}

export interface Webhook extends NewWebhook {
  /** The newest history id when the webhook was created: it gets events of later entries only. */
  start_after: number;
}

/** One row of the status history, with the message's sender: the source of webhook events. */
export interface HistoryRecord {
  /** Increasing id of the history entry. */
  id: number;
  message_id: string;
  conversation_id: string;
  sender_id: string;
  delivery_id: string | null;
  recipient_id: string | null;
  channel: string | null;
  status: HistoryEntry['status'];
  at: string;
  error: DeliveryError | null;
}

export type WebhookEventStatus = 'pending' | 'delivered' | 'failed';

/** An event for one webhook, as the dispatcher creates it. */
export interface NewWebhookEvent {
  /** Stable id (the same history entry always gives the same id), sent to the receiver for deduplication. */
  event_id: string;
  webhook_id: string;
  type: string;
  message_id: string;
  /** Order of the event among the events of its message (the history id). */
  seq: number;
  /** The exact JSON body sent on every attempt. */
  body: string;
  created_at: string;
  /** Epoch ms of the next attempt. */
  next_attempt_at: number;
  /** Epoch ms after which the event is given up. */
  deadline: number;
}

export interface WebhookEvent extends NewWebhookEvent {
  status: WebhookEventStatus;
  attempts: number;
  /** Epoch ms until which a dispatcher holds it; null when no one does. */
  lease_until: number | null;
}

/** One attempt to deliver an event. */
export interface WebhookAttempt {
  event_id: string;
  webhook_id: string;
  at: string;
  /** The receiver's HTTP status; null when there was no answer (timeout, refused connection, blocked address). */
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** success (2xx), retry (will try again), failed (given up). */
  result: 'success' | 'retry' | 'failed';
}

export interface WebhookAttemptRecord extends WebhookAttempt {
  /** 1 for the first attempt of the event. */
  attempt: number;
  type: string;
  message_id: string;
}

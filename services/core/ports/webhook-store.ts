import type { DeliveryError, HistoryEntry } from '../domain/types.ts';

/** Client webhooks: subscriptions, the events made from the status history, and delivery attempts. */
export interface WebhookStore {
  /**
   * Saves a webhook subscription. It receives the events of history entries made after this call:
   * the store notes the newest history id now as the subscription's `start_after`. With `cap`, an
   * owner who already has `cap.max` webhooks is refused with `CapReached` (`too_many_webhooks`),
   * decided atomically with the write: parallel creations at the limit never overshoot it.
   */
  createWebhook(webhook: NewWebhook, cap?: { max: number }): Promise<Webhook>;
  /** A user's webhooks, oldest first. */
  listWebhooks(ownerId: string): Promise<Webhook[]>;
  /** The webhook by id; null when there is none. */
  getWebhook(webhookId: string): Promise<Webhook | null>;
  /** Deletes a user's webhook with its events and attempts; returns whether there was one to delete. */
  deleteWebhook(ownerId: string, webhookId: string): Promise<boolean>;
  /** The history id up to which the webhook dispatchers have turned history into events. @default 0 */
  webhookCursor(): Promise<number>;
  /**
   * Looks at up to `limit` history entries with an id above `afterId` and returns those of messages
   * whose sender has a webhook and those whose recipient has one (for `message.received`), in id
   * order, with the last id looked at (`afterId` when none).
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
   * `fairness` keeps one subscriber from filling the claim: events of `skipWebhooks` are left
   * alone, and at most `perWebhook` events of any one webhook are claimed.
   */
  claimWebhookEvents(now: number, leaseUntil: number, limit: number, fairness?: ClaimFairness): Promise<WebhookEvent[]>;
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

/** Which events a claim leaves for later, so that one subscriber's backlog does not take every slot. */
export interface ClaimFairness {
  /** Webhooks whose events are not claimed now (their owner already has its share in flight). @default [] */
  skipWebhooks?: readonly string[];
  /** Most events of one webhook per claim. @default no limit */
  perWebhook?: number;
}

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

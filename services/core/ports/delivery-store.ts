import type { Delivery, DeliveryError, DeliveryFallback, ExternalChannel, StatusEvent } from '../domain/types.ts';

/** The outcome of applying a status event. */
export interface ApplyResult {
  applied: boolean;
  delivery: Delivery | null;
}

/** A provider's id for one of our deliveries. */
export interface ProviderRef {
  delivery_id: string;
  provider_message_id: string;
}

/** Deliveries (one per recipient and channel of a message): planned, in flight, parked, their status. */
export interface DeliveryStore {
  /** The delivery by id; null when there is none. */
  getDelivery(deliveryId: string): Promise<Delivery | null>;
  /** The deliveries of a message. */
  listDeliveries(messageId: string): Promise<Delivery[]>;
  /**
   * The deliveries of many messages in one call (a page of a conversation), grouped by nothing:
   * callers group by `message_id`. Order within a message is the order of `listDeliveries`.
   */
  listDeliveriesOfMessages(messageIds: string[]): Promise<Delivery[]>;
  /** A recipient's deliveries of the given messages. */
  deliveriesFor(recipientId: string, messageIds: string[]): Promise<Delivery[]>;
  /** External deliveries still SENT with no provider id, created before `before` (for re-dispatch). */
  listUndispatched(before: string, limit: number): Promise<Delivery[]>;
  /**
   * External deliveries of a conversation on one channel that no provider has accepted yet and
   * whose message's seq is below `beforeSeq`, in seq order (what must go out before that seq).
   */
  listUnsentBefore(conversationId: string, channel: ExternalChannel, beforeSeq: number): Promise<(Delivery & { seq: number })[]>;
  /** Notes that a provider call for this delivery starts now (its outcome is unknown until recorded). */
  markInFlight(deliveryId: string, at: string): Promise<void>;
  /**
   * {@link markInFlight} for many deliveries at once (the provider calls of one batch of delivery
   * jobs): SQLite writes them in one transaction, Cassandra side by side, a bounded number at once.
   */
  markManyInFlight(deliveryIds: string[], at: string): Promise<void>;
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
   * It also notes the delivery's conversation as the reply target of its address (see
   * `lastReplyTarget`), unless a later delivery to that address was noted already.
   */
  recordProviderRef(deliveryId: string, providerMessageId: string): Promise<boolean>;
  /**
   * {@link recordProviderRef} for many deliveries at once (the provider ids of one batch of
   * sends), one result each, in the order given. SQLite writes them in one transaction;
   * Cassandra side by side, a bounded number at once.
   */
  recordProviderRefs(refs: ProviderRef[]): Promise<boolean[]>;
  /**
   * The conversation of the latest delivery (by the time it was made, `at`) to an address on a
   * channel that a provider accepted: where a message from that address is a reply to
   * (docs/adr/0002-inbound-conversation-rule.md). Null when nothing was ever delivered there.
   */
  lastReplyTarget(channel: ExternalChannel, address: string): Promise<{ conversation_id: string; at: string } | null>;
  /** The delivery a provider's message id belongs to; null when none does. */
  findDeliveryByProviderRef(channel: ExternalChannel, providerMessageId: string): Promise<Delivery | null>;
  /**
   * Applies a status event with the forward-only rule, appending to the history only when the
   * status really changed. Returns whether it applied.
   */
  applyStatus(event: StatusEvent): Promise<ApplyResult>;
  /**
   * Notes in the message's history that this delivery went out in another form than asked (a
   * file sent as a download link): an entry with the delivery's current status, `at`, and the
   * fallback, listed by `MessageStore.history` in time order. Not a status change, so client
   * webhooks are not told. Returns false (noting nothing) when there is no such delivery.
   */
  recordFallback(deliveryId: string, fallback: DeliveryFallback, at: string): Promise<boolean>;
  /**
   * {@link applyStatus} for many events at once (the statuses of one provider webhook), in the
   * order given, so the events of one delivery apply one after the other; one result per event,
   * in the same order. Each event is decided on the status the previous ones left. SQLite takes
   * them in one write transaction; Cassandra runs deliveries side by side, a bounded number at
   * once, each delivery's events in order.
   */
  applyStatuses(events: StatusEvent[]): Promise<ApplyResult[]>;
}

export type { DeliveryError, DeliveryFallback };

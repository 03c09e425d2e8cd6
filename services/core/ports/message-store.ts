import type { Delivery, HistoryEntry, Message } from '../domain/types.ts';
import type { PlannedDelivery } from '../domain/routing.ts';

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

/** One message to route and its planned deliveries (see `MessageStore.routeMessages`). */
export interface RouteRequest {
  messageId: string;
  plan: PlannedDelivery[];
}

/** Messages: accepting them, ordering (routing) them, the unrouted queue, and their status history. */
export interface MessageStore {
  /**
   * Stores an accepted message durably, once per `message_id`. A second call with the same id
   * returns the stored message with `created: false` (the caller compares `body_hash`).
   */
  acceptMessage(message: Omit<Message, 'seq'>): Promise<AcceptResult>;
  /** The message by id; null when there is none. */
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
   * Every message of a conversation that no router has ordered yet, in acceptance order (the
   * router's reorder window for inbound messages picks from these).
   */
  listUnroutedIn(conversationId: string): Promise<Message[]>;
  /**
   * Gives a message its next per-conversation sequence number and creates its deliveries, in one
   * atomic step. Idempotent: a message already routed returns its seq and deliveries unchanged.
   */
  routeMessage(messageId: string, plan: PlannedDelivery[], at: string): Promise<RouteResult>;
  /**
   * `routeMessage` for many messages at once (a router's fetched batch): a conversation's messages
   * take their seqs in the order given. One transaction on stores that have them (SQLite: shared
   * with the other batches of the process that arrive in the same turn, each in its own savepoint,
   * so one failing leaves the others whole); elsewhere each
   * conversation in order, conversations side by side (bounded). Results are in request order.
   * Throws `not_found` when a message or its conversation is missing; then none of the batch may
   * be routed (SQLite) or part of it (Cassandra): routing is idempotent, callers route again.
   */
  routeMessages(requests: RouteRequest[], at: string): Promise<RouteResult[]>;
  /** The status history of a message, oldest first. */
  history(messageId: string): Promise<HistoryEntry[]>;
}

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

  /** Whether the store answers (for readiness). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export type { DeliveryError };

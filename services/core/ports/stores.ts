import type { ContactStore } from './contact-store.ts';
import type { ConversationStore } from './conversation-store.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';
import type { DeliveryStore } from './delivery-store.ts';
import type { MessageStore } from './message-store.ts';
import type { RateLimitStore } from './rate-limit-store.ts';
import type { UserStore } from './user-store.ts';
import type { WebhookStore } from './webhook-store.ts';

/**
 * Every store port of one backing store (one SQLite file, one Cassandra session), with the
 * lifecycle they share.
 */
export interface Stores {
  users: UserStore;
  contacts: ContactStore;
  conversations: ConversationStore;
  messages: MessageStore;
  deliveries: DeliveryStore;
  deadLetters: DeadLetterStore;
  webhooks: WebhookStore;
  rateLimits: RateLimitStore;
  /** Whether the backing store answers (for readiness). */
  healthy(): Promise<boolean>;
  /** Closes the backing store; the ports must not be used after. */
  close(): Promise<void>;
}

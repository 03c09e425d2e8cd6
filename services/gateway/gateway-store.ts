import type { Conversation } from '../core/domain/types.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { Stores } from '../core/ports/stores.ts';

/** What the push gateway reads from the store: memberships, the replay, and a recipient's deliveries. */
/** The same, as one object inside the gateway (built from the ports by `gatewayStore`). */
export type GatewayStore = Pick<ConversationStore, 'getConversation'> & {
  /** Every conversation of the user (all pages of the store's listing). */
  listConversations(userId: string): Promise<Conversation[]>;
} &
  Pick<MessageStore, 'listMessages'> &
  Pick<DeliveryStore, 'deliveriesFor'> & {
    /** Whether the backing store answers (for readiness). */
    healthy(): Promise<boolean>;
  };

/** The store ports the gateway is given (a use case takes only the ports it touches). */
export interface GatewayPorts {
  conversations: Pick<ConversationStore, 'listConversations' | 'getConversation'>;
  messages: Pick<MessageStore, 'listMessages'>;
  deliveries: Pick<DeliveryStore, 'deliveriesFor'>;
  store: Pick<Stores, 'healthy'>;
}

/** The gateway's reads over its ports. */
export function gatewayStore(p: GatewayPorts): GatewayStore {
  return {
    listConversations: (userId) => allConversations(p.conversations, userId),
    getConversation: (id) => p.conversations.getConversation(id),
    listMessages: (id, after, limit) => p.messages.listMessages(id, after, limit),
    deliveriesFor: (userId, ids) => p.deliveries.deliveriesFor(userId, ids),
    healthy: () => p.store.healthy(),
  };
}

/** Pages a user's conversations are read in when all of them are needed. */
const PAGE = 500;

/** Every conversation of a user, following the store's pages to the end. */
export async function allConversations(store: Pick<ConversationStore, 'listConversations'>, userId: string): Promise<Conversation[]> {
  const all: Conversation[] = [];
  let after: string | undefined;
  do {
    const page = await store.listConversations(userId, after === undefined ? { limit: PAGE } : { limit: PAGE, after });
    all.push(...page.conversations);
    after = page.next ?? undefined;
  } while (after !== undefined);
  return all;
}

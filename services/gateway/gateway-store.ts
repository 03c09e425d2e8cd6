import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';

/** What the push gateway reads from the store: memberships, the replay, and a recipient's deliveries. */
export type GatewayStore = Pick<ConversationStore, 'listConversations' | 'getConversation'> &
  Pick<MessageStore, 'listMessages'> &
  Pick<DeliveryStore, 'deliveriesFor'> & {
    /** Whether the backing store answers (for readiness). */
    healthy(): Promise<boolean>;
  };

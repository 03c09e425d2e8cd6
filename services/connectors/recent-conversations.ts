import type { Clock } from '../core/ports/clock.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { Conversation } from '../core/domain/types.ts';

/**
 * `getConversation` answered from the last `ttlMs` when it can: the provider's status webhooks
 * name the same conversations many times a second, and each status is told to the conversation's
 * members. A member added or removed is seen at most `ttlMs` late (a status event to a removed
 * member's gateway, or one missed by a new member, who reads the status from the store anyway).
 * A conversation not found is not kept. At most `maxEntries` are kept; the oldest go first.
 */
export function recentConversations(
  store: Pick<ConversationStore, 'getConversation'>,
  clock: Clock,
  options: { ttlMs: number; maxEntries?: number },
): Pick<ConversationStore, 'getConversation'> {
  const kept = new Map<string, { at: number; conversation: Promise<Conversation | null> }>();
  const max = options.maxEntries ?? 10_000;
  return {
    getConversation(conversationId) {
      const now = clock.now();
      const hit = kept.get(conversationId);
      if (hit && now - hit.at < options.ttlMs) return hit.conversation;
      kept.delete(conversationId);
      const conversation = store.getConversation(conversationId);
      // Only what was found, and only once read: a failed read or a missing one is read again next time.
      void conversation.then(
        (c) => {
          if (!c) return;
          kept.set(conversationId, { at: now, conversation });
          if (kept.size > max) kept.delete(kept.keys().next().value!);
        },
        () => undefined,
      );
      return conversation;
    },
  };
}

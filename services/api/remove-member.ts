import { badRequest, notFound } from '../core/errors.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { Principal } from './auth.ts';
import { conversationFor, requireUser } from './conversations.ts';

/**
 * Removes a member from a group the caller belongs to; removing oneself is leaving. Any member may
 * remove any other (groups have no admins yet). The messages stay: the others keep the history,
 * the removed user gets no new messages and can no longer read the conversation (404, as for
 * anyone outside it).
 */
export async function removeMember(deps: { conversations: ConversationStore }, caller: Principal, conversationId: string, userId: string): Promise<void> {
  requireUser(caller);
  const c = await conversationFor(deps, caller, conversationId);
  if (c.type !== 'group') {
    throw badRequest('members can only be removed from a group conversation', [{ field: 'user_id', message: 'this conversation is private' }]);
  }
  if (!c.members.includes(userId)) throw notFound('member');
  // Two removals racing: the second finds nobody to remove, which is what its caller wanted.
  await deps.conversations.removeMember(conversationId, userId);
}

import { randomUUID } from 'node:crypto';
import type { Conversation } from '../core/domain/types.ts';
import { CapReached } from '../core/cap-reached.ts';
import { AppError, badRequest, forbidden, notFound } from '../core/errors.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { Principal } from './auth.ts';
import type { Config } from '../core/config.ts';

export interface ConversationDeps {
  users: UserStore;
  conversations: ConversationStore;
  clock: Clock;
  config: Pick<Config, 'maxGroupMembers'>;
}

function tooManyMembers(limit: number, field: string, detail: string): AppError {
  return new AppError('too_many_members', detail, { status: 409, errors: [{ field, message: `a group has at most ${limit} members (MAX_GROUP_MEMBERS)` }] });
}

/** Service clients act for the platform, not as a person, so they cannot be members. */
export function requireUser(principal: Principal): string {
  if (principal.role === 'service') throw forbidden('service clients cannot act as a user here; use a user token');
  return principal.sub;
}

/**
 * Creates a conversation with the caller as a member. Members are deduplicated; a private
 * conversation has exactly two members; every member must be an existing user.
 */
export async function createConversation(
  deps: ConversationDeps,
  caller: Principal,
  input: { type: 'private' | 'group'; members: string[]; name?: string; metadata?: Record<string, unknown> },
): Promise<Conversation> {
  const me = requireUser(caller);
  const members = [...new Set([me, ...input.members])];
  if (input.type === 'private' && members.length !== 2) {
    throw badRequest(`a private conversation has exactly two members (you and one other user); got ${members.length}`, [
      { field: 'members', message: 'must name exactly one other user for a private conversation' },
    ]);
  }
  const limit = deps.config.maxGroupMembers;
  if (members.length > limit) {
    throw tooManyMembers(limit, 'members', `a group has at most ${limit} members, you included; this one would have ${members.length}`);
  }
  const found = await Promise.all(members.map((id) => deps.users.getUser(id)));
  const unknown = members.filter((_, i) => !found[i]);
  if (unknown.length > 0) {
    throw badRequest(
      `unknown user ids: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', …' : ''}`,
      unknown.map((id) => {
        const i = input.members.indexOf(id);
        return { field: i >= 0 ? `members[${i}]` : 'members', message: `no user ${id}` };
      }),
    );
  }
  return deps.conversations.createConversation({
    conversation_id: randomUUID(),
    type: input.type,
    members,
    name: input.name ?? null,
    metadata: input.metadata ?? null,
    created_at: isoAt(deps.clock.now()),
  });
}

/** The conversation if the caller is a member; a missing one and a foreign one look the same (404). */
export async function conversationFor(deps: Pick<ConversationDeps, 'conversations'>, caller: Principal, conversationId: string): Promise<Conversation> {
  const c = await deps.conversations.getConversation(conversationId);
  if (!c || !c.members.includes(caller.sub)) throw notFound('conversation');
  return c;
}

/** Adds an existing user to a group the caller belongs to (no-op when already a member). */
export async function addMember(deps: ConversationDeps, caller: Principal, conversationId: string, userId: string): Promise<Conversation> {
  const c = await conversationFor(deps, caller, conversationId);
  if (c.type !== 'group') {
    throw badRequest('members can only be added to a group conversation', [{ field: 'user_id', message: 'this conversation is private' }]);
  }
  if (!(await deps.users.getUser(userId))) throw badRequest(`unknown user id: ${userId}`, [{ field: 'user_id', message: `no user ${userId}` }]);
  // The store decides the cap with the write (two adds racing at the limit cannot both pass).
  const limit = deps.config.maxGroupMembers;
  try {
    return await deps.conversations.addMember(conversationId, userId, isoAt(deps.clock.now()), { max: limit });
  } catch (err) {
    if (err instanceof CapReached) throw tooManyMembers(limit, 'user_id', `the group already has ${err.count} members, the most a group may have (${limit})`);
    throw err;
  }
}

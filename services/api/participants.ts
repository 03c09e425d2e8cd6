import type { Conversation } from '../core/domain/types.ts';
import type { ContactStore } from '../core/ports/contact-store.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import { conversationJson, type SenderInfo } from './views.ts';

/** What describing participants reads. */
export interface ParticipantDeps {
  users: Pick<UserStore, 'getUser'>;
  contacts: Pick<ContactStore, 'listContacts'>;
}

/**
 * How the given senders show in message views: users by their username, contacts by their profile
 * name, and a contact merged into a user by that user's username (its old messages keep the
 * contact's id as `sender_id`).
 */
export async function describeSenders(deps: ParticipantDeps, ids: string[]): Promise<Map<string, SenderInfo>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, SenderInfo>();
  const contacts = await deps.contacts.listContacts(unique);
  const names = new Map<string, string | null>();
  const nameOf = async (userId: string) => {
    if (!names.has(userId)) names.set(userId, (await deps.users.getUser(userId))?.username ?? null);
    return names.get(userId)!;
  };
  for (const c of contacts) {
    if (c.merged_into) out.set(c.contact_id, { kind: 'contact', name: (await nameOf(c.merged_into)) ?? c.display_name, merged_into: c.merged_into });
    else out.set(c.contact_id, { kind: 'contact', name: c.display_name });
  }
  for (const id of unique) if (!out.has(id)) out.set(id, { kind: 'user', name: await nameOf(id) });
  return out;
}

/** Conversation views with their contacts described. */
export async function conversationsJson(deps: ParticipantDeps, conversations: Conversation[]) {
  const contacts = await deps.contacts.listContacts(conversations.flatMap((c) => c.members));
  return conversations.map((c) => conversationJson(c, contacts));
}

/** One conversation view with its contacts described. */
export async function oneConversationJson(deps: ParticipantDeps, conversation: Conversation) {
  return (await conversationsJson(deps, [conversation]))[0]!;
}

import { conflict } from '../errors.ts';
import type { Contact } from '../domain/types.ts';
import type { ContactStore } from '../ports/contact-store.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { UserStore } from '../ports/user-store.ts';

/** The ports a merge touches. */
export interface MergeContactDeps {
  users: UserStore;
  contacts: ContactStore;
  conversations: ConversationStore;
}

/**
 * Makes a contact into the user who verified its address, keeping its history:
 * 1. the contact is marked `merged_into` the user (once; from then on every lookup of the contact
 *    follows it to the user, and its old messages, which keep the contact's id as sender, render
 *    with the user's name);
 * 2. the user takes the contact's place in each of its conversations (joins, the contact leaves);
 * 3. the address moves from the contact to the user in one atomic step (`transferIdentity`).
 * Every step is idempotent, so a merge cut short is finished by running it again: inbound
 * acceptance does that when it meets a marked contact that still holds its address. Throws
 * `conflict` when the contact was merged into another user.
 */
export async function mergeContact(deps: MergeContactDeps, contact: Contact, userId: string, at: string, cap?: { max: number }): Promise<void> {
  const marked = await deps.contacts.markMerged(contact.contact_id, userId, at);
  if (!marked || marked.merged_into !== userId) throw conflict(`contact ${contact.contact_id} was merged into another user`);
  let after: string | undefined;
  do {
    const page = await deps.conversations.listConversations(contact.contact_id, { limit: 100, after });
    for (const c of page.conversations) {
      await deps.conversations.addMember(c.conversation_id, userId, at);
      await deps.conversations.removeMember(c.conversation_id, contact.contact_id);
    }
    after = page.next ?? undefined;
  } while (after !== undefined);
  await deps.users.transferIdentity(contact.channel, contact.address, contact.contact_id, { user_id: userId, linked_at: at }, cap);
}

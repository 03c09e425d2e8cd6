import type { Contact } from '../domain/types.ts';

/** A contact as inbound acceptance first makes it. */
export type NewContact = Omit<Contact, 'merged_into' | 'merged_at'>;

/**
 * Contacts: the people who wrote from an address no user holds (see `Contact`). The address itself
 * is claimed in the `UserStore`'s identities with the contact's id as holder, so an address has one
 * holder whether user or contact.
 */
export interface ContactStore {
  /**
   * Stores a contact once per `contact_id`, as a conditional insert: of parallel calls with one id,
   * exactly one gets `created: true` and all get the stored contact (the first one's fields).
   */
  createContact(contact: NewContact): Promise<{ contact: Contact; created: boolean }>;
  /** The contact by id; null when there is none. */
  getContact(contactId: string): Promise<Contact | null>;
  /** The contacts among the given ids (ids of users or unknown ids are left out; any order). */
  listContacts(contactIds: string[]): Promise<Contact[]>;
  /**
   * Renames a contact (its provider profile name changed, or a first one arrived). Returns whether
   * there is such a contact; never creates one.
   */
  renameContact(contactId: string, displayName: string): Promise<boolean>;
  /**
   * Records that the contact became a user, once: the first call sets `merged_into` and
   * `merged_at`, a later one changes nothing. Returns the contact as stored after the call (the
   * caller compares `merged_into`), or null when there is none.
   */
  markMerged(contactId: string, userId: string, at: string): Promise<Contact | null>;
}

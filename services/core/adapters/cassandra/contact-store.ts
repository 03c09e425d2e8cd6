import type { Contact, ExternalChannel } from '../../domain/types.ts';
import { unavailable } from '../../errors.ts';
import type { ContactStore, NewContact } from '../../ports/contact-store.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import type { CqlRow } from './session.ts';
import { CQL } from './statements.ts';
import { str } from './values.ts';

/**
 * Contacts on Cassandra: one row per contact, written only with lightweight transactions (made
 * `IF NOT EXISTS`, merged `IF merged_into = null`), so parallel first messages from one address
 * make one contact and a contact is merged once.
 */
export class CassandraContactStore implements ContactStore {
  constructor(private readonly ctx: CassandraContext) {}

  async createContact(c: NewContact) {
    const { db } = this.ctx;
    const created = (await db.run(CQL.insertContact, [c.contact_id, c.channel, c.address, c.display_name, c.created_at])).wasApplied();
    const stored = await this.read(c.contact_id, true);
    if (!stored) throw unavailable(`contact ${c.contact_id}: insert not visible yet; retry`);
    return { contact: stored, created };
  }

  async getContact(contactId: string) {
    return this.read(contactId, false);
  }

  async listContacts(contactIds: string[]): Promise<Contact[]> {
    const found = await eachLimited([...new Set(contactIds)], PARALLEL, (id) => this.read(id, false));
    return found.filter((c): c is Contact => c !== null);
  }

  async renameContact(contactId: string, displayName: string) {
    // IF EXISTS: a lightweight transaction like every write of this row, and no row is made.
    return (await this.ctx.db.run(CQL.renameContact, [displayName, contactId])).wasApplied();
  }

  async markMerged(contactId: string, userId: string, at: string) {
    // Read first: a conditional UPDATE on a missing row would make one (a missing row's columns are null).
    if (!(await this.read(contactId, true))) return null;
    await this.ctx.db.run(CQL.markContactMerged, [userId, at, contactId]);
    return this.read(contactId, true);
  }

  private async read(contactId: string, serial: boolean): Promise<Contact | null> {
    const r = (await this.ctx.db.run(CQL.contact, [contactId], serial ? { serial: true } : undefined)).rows[0];
    return r ? toContact(r) : null;
  }
}

function toContact(r: CqlRow): Contact {
  return {
    contact_id: String(r.contact_id),
    channel: String(r.channel) as ExternalChannel,
    address: String(r.address),
    display_name: str(r.display_name),
    created_at: String(r.created_at),
    merged_into: str(r.merged_into),
    merged_at: str(r.merged_at),
  };
}

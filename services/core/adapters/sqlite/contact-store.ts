import type { Contact, ExternalChannel } from '../../domain/types.ts';
import type { ContactStore, NewContact } from '../../ports/contact-store.ts';
import type { SqliteDatabase } from './database.ts';
import type { Row } from './rows.ts';

/** Contacts in the embedded SQLite store. */
export class SqliteContactStore implements ContactStore {
  private readonly stmt;

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO contacts (contact_id, channel, address, display_name, created_at)
         VALUES (@contact_id, @channel, @address, @display_name, @created_at)`,
      ),
      byId: db.prepare('SELECT * FROM contacts WHERE contact_id = ?'),
      rename: db.prepare('UPDATE contacts SET display_name = ? WHERE contact_id = ?'),
      markMerged: db.prepare('UPDATE contacts SET merged_into = ?, merged_at = ? WHERE contact_id = ? AND merged_into IS NULL'),
    };
  }

  async createContact(c: NewContact) {
    const created = this.stmt.insert.run(c).changes > 0;
    return { contact: toContact(this.stmt.byId.get(c.contact_id) as Row), created };
  }

  async getContact(contactId: string) {
    const r = this.stmt.byId.get(contactId) as Row | undefined;
    return r ? toContact(r) : null;
  }

  async listContacts(contactIds: string[]): Promise<Contact[]> {
    const ids = [...new Set(contactIds)];
    if (ids.length === 0) return [];
    const q = `SELECT * FROM contacts WHERE contact_id IN (${ids.map(() => '?').join(',')})`;
    return (this.db.prepare(q).all(...ids) as Row[]).map(toContact);
  }

  async renameContact(contactId: string, displayName: string) {
    return this.stmt.rename.run(displayName, contactId).changes > 0;
  }

  async markMerged(contactId: string, userId: string, at: string) {
    this.stmt.markMerged.run(userId, at, contactId);
    return this.getContact(contactId);
  }
}

function toContact(r: Row): Contact {
  return {
    contact_id: r.contact_id as string,
    channel: r.channel as ExternalChannel,
    address: r.address as string,
    display_name: (r.display_name as string | null) ?? null,
    created_at: r.created_at as string,
    merged_into: (r.merged_into as string | null) ?? null,
    merged_at: (r.merged_at as string | null) ?? null,
  };
}

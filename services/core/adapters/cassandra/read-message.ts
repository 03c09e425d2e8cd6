import { toStoredMessage, type StoredMessage } from './rows.ts';
import type { Db } from './session.ts';
import { CQL } from './statements.ts';

/**
 * The message of a `messages` partition (its static columns); null when there is none. With
 * `serial`, the read sees every lightweight transaction decided before it (LOCAL_SERIAL).
 */
export async function readMessage(db: Db, messageId: string, serial = false): Promise<StoredMessage | null> {
  const r = (await db.run(CQL.message, [messageId], { serial })).rows[0];
  return r && r.conversation_id !== null && r.conversation_id !== undefined ? toStoredMessage(r) : null;
}

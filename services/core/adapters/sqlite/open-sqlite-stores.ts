import type { Stores } from '../../ports/stores.ts';
import { closeSqliteDatabase, openSqliteDatabase, sqliteHealthy } from './database.ts';
import { SqliteContactStore } from './contact-store.ts';
import { SqliteConversationStore } from './conversation-store.ts';
import { SqliteDeadLetterStore } from './dead-letter-store.ts';
import { SqliteDeliveryStore } from './delivery-store.ts';
import { SqliteMessageStore } from './message-store.ts';
import { SqliteRateLimitStore } from './rate-limit-store.ts';
import { SqliteUserStore } from './user-store.ts';
import { SqliteWebhookStore } from './webhook-store.ts';

/**
 * The embedded store: every port over one SQLite database (a file in WAL mode, or `':memory:'`
 * for one process). Several processes may open the same file; every multi-row change is one
 * transaction, so a crash leaves either all of it or none.
 */
export function openSqliteStores(path: string): Stores {
  const db = openSqliteDatabase(path);
  return {
    users: new SqliteUserStore(db),
    contacts: new SqliteContactStore(db),
    conversations: new SqliteConversationStore(db),
    messages: new SqliteMessageStore(db),
    deliveries: new SqliteDeliveryStore(db),
    deadLetters: new SqliteDeadLetterStore(db),
    webhooks: new SqliteWebhookStore(db),
    rateLimits: new SqliteRateLimitStore(db),
    healthy: async () => sqliteHealthy(db),
    close: async () => closeSqliteDatabase(db),
  };
}

import type { Stores } from '../../ports/stores.ts';
import { connectSession, type CassandraConnectOptions } from './connect.ts';
import { cassandraContext, type CassandraStoreTuning } from './context.ts';
import { CassandraContactStore } from './contact-store.ts';
import { CassandraConversationStore } from './conversation-store.ts';
import { CassandraDeadLetterStore } from './dead-letter-store.ts';
import { CassandraDeliveryStore } from './delivery-store.ts';
import { CassandraMessageStore } from './message-store.ts';
import { CassandraRateLimitStore } from './rate-limit-store.ts';
import type { CqlSession } from './session.ts';
import { CQL } from './statements.ts';
import { CassandraUserStore } from './user-store.ts';
import { CassandraWebhookStore } from './webhook-store.ts';

/**
 * The production stores on Apache Cassandra 4/5 (see docs/cassandra.md for the data model).
 * Connects (bounded by `connectTimeoutMs`), then either creates the keyspace and the missing
 * tables (`schema: 'create'`) or waits for them (`schema: 'wait'`), and returns every store on
 * one session. Throws `CassandraUnreachableError` naming the contact points, or
 * `CassandraSchemaMissingError`.
 */
export async function openCassandraStores(options: CassandraConnectOptions, tuning: CassandraStoreTuning = {}): Promise<Stores> {
  const { session } = await connectSession(options);
  return cassandraStores(session, tuning);
}

/**
 * Every store on an open session (the driver's, or an emulator's in tests). Atomic steps are
 * single-partition conditional batches; everything else is written so that a crash between two
 * writes leaves at most a stale index entry, which readers check and remove, or a routed message
 * whose query rows are rebuilt the next time it is routed or scanned.
 */
export function cassandraStores(session: CqlSession, tuning: CassandraStoreTuning = {}): Stores {
  const ctx = cassandraContext(session, tuning);
  let closed = false;
  return {
    users: new CassandraUserStore(ctx),
    contacts: new CassandraContactStore(ctx),
    conversations: new CassandraConversationStore(ctx),
    messages: new CassandraMessageStore(ctx),
    deliveries: new CassandraDeliveryStore(ctx),
    deadLetters: new CassandraDeadLetterStore(ctx),
    webhooks: new CassandraWebhookStore(ctx),
    rateLimits: new CassandraRateLimitStore(ctx),
    async healthy() {
      if (closed) return false;
      try {
        await ctx.db.run(CQL.health, []);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.shutdown();
    },
  };
}

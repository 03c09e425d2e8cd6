import type { Stores } from '../ports/stores.ts';
import type { CassandraMessageStore } from './cassandra-message-store.ts';

/**
 * The one-class Cassandra store seen as the set of store ports (each port is the same object).
 * TODO(#11): goes when the Cassandra adapter is split into one store per aggregate
 * (`openCassandraStores`).
 */
export function cassandraStores(store: CassandraMessageStore): Stores {
  return {
    users: store,
    conversations: store,
    messages: store,
    deliveries: store,
    deadLetters: store,
    webhooks: store,
    healthy: () => store.healthy(),
    close: () => store.close(),
  };
}

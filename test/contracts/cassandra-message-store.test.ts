import { after, describe } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import type { CassandraConnectOptions } from '../../services/core/adapters/cassandra/connect.ts';
import { cassandraStores, openCassandraStores } from '../../services/core/adapters/cassandra/open-cassandra-stores.ts';
import { createTables } from '../../services/core/adapters/cassandra/schema-setup.ts';
import { CqlEmulator } from './cql-emulator/cql-emulator.ts';
import { storesContract } from './stores-contract.ts';

// History entries are handed to webhooks at once here (no settling wait): one writer, one clock.
const tuning = { historySettleMs: 0 };

// The stores' logic on an emulated node (no Cassandra can run here): statements are checked
// against the schema and executed with lightweight-transaction and static-column semantics.
async function emulatedNode() {
  const emulator = new CqlEmulator();
  await createTables(emulator.connect());
  const open = async () => cassandraStores(emulator.connect(), tuning);
  return { stores: await open(), reopen: open };
}
storesContract('Cassandra stores (CQL emulator)', async () => (await emulatedNode()).stores, emulatedNode);

const contactPoints = process.env.CASSANDRA_CONTACT_POINTS;

describe(
  'Cassandra stores (Cassandra)',
  { skip: contactPoints ? false : 'no Cassandra reachable: set CASSANDRA_CONTACT_POINTS=host:9042 to run the store contract against it' },
  () => {
    const options: CassandraConnectOptions = {
      contactPoints: (contactPoints ?? '').split(',').map((x) => x.trim()).filter(Boolean),
      localDataCenter: process.env.CASSANDRA_LOCAL_DATA_CENTER ?? 'datacenter1',
      // A fresh keyspace per run, dropped after it.
      keyspace: `c4a_test_${randomBytes(5).toString('hex')}`,
      username: process.env.CASSANDRA_USERNAME,
      password: process.env.CASSANDRA_PASSWORD,
      connectTimeoutMs: 30_000,
    };
    // One failed connection fails every test at once, instead of each waiting for its own timeout.
    let unreachable: unknown = null;
    const connect = async () => {
      if (unreachable) throw unreachable;
      try {
        return await openCassandraStores(options, tuning);
      } catch (err) {
        unreachable = err;
        throw err;
      }
    };
    after(async () => {
      if (unreachable) return;
      const client = new Client({
        contactPoints: options.contactPoints,
        localDataCenter: options.localDataCenter,
        credentials: options.username ? { username: options.username, password: options.password ?? '' } : undefined,
      });
      try {
        await client.connect();
        await client.execute(`DROP KEYSPACE IF EXISTS ${options.keyspace}`);
      } finally {
        await client.shutdown();
      }
    });
    storesContract('Cassandra stores (Cassandra)', connect, async () => ({ stores: await connect(), reopen: connect }));
  },
);

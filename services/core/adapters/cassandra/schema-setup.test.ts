import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CqlEmulator } from '../../../../test/contracts/cql-emulator/cql-emulator.ts';
import { emulatorWithSchema, recorded, QUORUM } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import { CassandraSchemaMissingError } from './errors.ts';
import { TABLES, keyspaceCql, tableName } from './schema.ts';
import { createTables, waitForSchema } from './schema-setup.ts';
import { CQL } from './statements.ts';

describe('Cassandra schema setup', () => {
  it('sends no CREATE TABLE for tables that exist', async () => {
    const emulator = await emulatorWithSchema();
    const { session, sent } = recorded(emulator);
    await createTables(session, 'chat4all');
    assert.deepEqual(sent.filter((q) => /CREATE TABLE/.test(q)), []);

    const fresh = new CqlEmulator();
    await createTables(fresh, 'chat4all');
    assert.doesNotThrow(() => fresh.prepare(CQL.insertMessage), 'a fresh keyspace gets every table');
  });

  it('makes a keyspace for one data center or several', () => {
    assert.equal(
      keyspaceCql('chat4all', { class: 'SimpleStrategy', replicationFactor: 1 }),
      "CREATE KEYSPACE IF NOT EXISTS chat4all WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    assert.equal(
      keyspaceCql('c4a', { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 3, dc2: 2 } }),
      "CREATE KEYSPACE IF NOT EXISTS c4a WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}",
    );
    assert.throws(() => keyspaceCql('Chat4All"; DROP', { class: 'SimpleStrategy', replicationFactor: 1 }), /invalid keyspace name/);
  });
});

describe('waitForSchema (CASSANDRA_SCHEMA=wait)', () => {
  /** A clock that only moves when the wait sleeps; `onSleep` runs during each pause. */
  function fakeTime(onSleep: (pause: number) => Promise<void> | void = () => undefined) {
    let t = 1_000_000;
    const pauses: number[] = [];
    return {
      pauses,
      now: () => t,
      sleep: async (ms: number) => {
        pauses.push(ms);
        t += ms;
        await onSleep(pauses.length);
      },
    };
  }
  const isDdl = (q: string) => /^\s*(CREATE|ALTER|DROP)\b/i.test(q);

  it('sends no DDL and returns once another client has created the tables', async () => {
    const emulator = new CqlEmulator();
    const { session, sent } = recorded(emulator);
    const waiting: number[] = [];
    // The schema Job creates the tables while this process waits, during its second pause.
    const time = fakeTime(async (pause) => {
      if (pause === 2) await createTables(emulator.connect(), 'chat4all');
    });
    await waitForSchema(session, 'chat4all', { timeoutMs: 60_000, onWaiting: (missing) => waiting.push(missing.length), ...time });
    assert.deepEqual(sent.filter(isDdl), [], 'a waiting process sends no CREATE/ALTER/DROP');
    assert.ok(sent.length > 0 && sent.every((q) => q === CQL.tables), 'it only reads system_schema.tables');
    assert.deepEqual(time.pauses, [2000, 2000]);
    assert.deepEqual(waiting, [TABLES.length, TABLES.length], 'it says, before each pause, that every table is missing');
    assert.doesNotThrow(() => emulator.prepare(CQL.insertMessage));
  });

  it('returns at once, without a pause, when the schema is there', async () => {
    const emulator = await emulatorWithSchema();
    const { session, sent } = recorded(emulator);
    const time = fakeTime();
    await waitForSchema(session, 'chat4all', { timeoutMs: 60_000, ...time });
    assert.deepEqual(time.pauses, []);
    assert.deepEqual(sent, [CQL.tables]);
  });

  it('gives up after the bound with a message that says who creates the schema', async () => {
    const emulator = new CqlEmulator();
    const { session, sent } = recorded(emulator);
    const time = fakeTime();
    await assert.rejects(waitForSchema(session, 'chat4all', { timeoutMs: 5000, ...time }), (e: unknown) => {
      assert.ok(e instanceof CassandraSchemaMissingError);
      assert.equal(e.retriable, true);
      assert.match(e.message, /^the Cassandra schema is not there yet after 5000 ms \(CASSANDRA_SCHEMA=wait\): keyspace chat4all does not exist or has no tables/);
      assert.match(e.message, /schema Job \(<release>-cassandra-schema\) creates it; or run `node dist\/services\/core\/cassandra-schema-main\.js`/);
      return true;
    });
    assert.deepEqual(time.pauses, [2000, 2000, 1000], 'it waits no longer than the bound');
    assert.deepEqual(sent.filter(isDdl), []);
  });

  it('names the tables still missing when only some exist (a Job of an older version ran)', async () => {
    const emulator = new CqlEmulator();
    for (const cql of TABLES.slice(0, -2)) await emulator.execute(cql, [], QUORUM);
    const missing = TABLES.slice(-2).map(tableName);
    await assert.rejects(
      waitForSchema(emulator, 'chat4all', { timeoutMs: 0, ...fakeTime() }),
      (e: unknown) => e instanceof CassandraSchemaMissingError && e.message.includes(`keyspace chat4all lacks ${missing.join(', ')}.`),
    );
  });
});

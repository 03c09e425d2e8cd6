import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { types } from 'cassandra-driver';
import {
  BUCKET_MS,
  CQL,
  CassandraMessageStore,
  CassandraSchemaMissingError,
  CassandraUnreachableError,
  RETIRE_MARGIN_MS,
  SHARDS,
  TimeIds,
  createTables,
  conversationRow,
  deadLetterRow,
  deliveryRow,
  historyRow,
  idAt,
  isoKey,
  messageRow,
  msKey,
  num,
  shardOf,
  sortKeyOf,
  toConversation,
  toDeadLetter,
  toDelivery,
  toMessage,
  toStoredHistory,
  toUser,
  toWebhook,
  toWebhookEvent,
  userRow,
  waitForSchema,
  webhookEventRow,
  webhookRow,
  type CqlSession,
} from './cassandra-message-store.ts';
import { TABLES, keyspaceCql, tableName } from './cassandra-schema.ts';
import { CqlEmulator, type CqlEmulatorOptions } from '../../../test/contracts/cql-emulator.ts';
import { loadConfig } from '../config.ts';
import { buildAdapters } from '../build-adapters.ts';
import type { Delivery, Message } from '../domain/types.ts';
import type { DeadLetter } from '../dead-letters.ts';

const long = (n: number) => types.Long.fromNumber(n);

async function emulatorWithSchema(now?: () => number, options?: CqlEmulatorOptions) {
  const emulator = new CqlEmulator(now, options);
  await createTables(emulator);
  return emulator;
}

const LOCAL_QUORUM = { prepare: true, consistency: types.consistencies.localQuorum };

describe('Cassandra schema and statements', () => {
  it('creates every table each statement reads or writes, with the columns and keys it names', async () => {
    const emulator = await emulatorWithSchema();
    for (const [name, cql] of Object.entries(CQL)) {
      assert.doesNotThrow(() => emulator.prepare(cql), `CQL.${name}`);
    }
  });

  it('has no table that no statement uses', () => {
    const statements = Object.values(CQL).join('\n');
    for (const table of TABLES.map(tableName)) assert.match(statements, new RegExp(`\\b(FROM|INTO|UPDATE) ${table}\\b`), table);
  });

  it('is checked the way Cassandra checks a statement, so the cross-check can fail', async () => {
    const emulator = await emulatorWithSchema();
    const refused: [string, RegExp][] = [
      ['SELECT user_id FROM users WHERE user_id = ? AND username = ?', /ALLOW FILTERING/],
      ['SELECT user_id FROM users_by_name WHERE user_id = ?', /partition key column username/],
      ['SELECT nickname FROM users WHERE user_id = ?', /undefined column nickname/],
      ['SELECT item_id FROM pending_items WHERE kind = ? AND bucket = ?', /partition key column shard/],
      ['SELECT item_id FROM pending_items WHERE kind = ? AND bucket = ? AND shard = ? AND item_id = ?', /without the ones before it/],
      ["UPDATE messages SET seq = ? WHERE message_id = ? AND kind = 'd' AND ord = ? AND item = ?", /modifies only static columns/],
      ['UPDATE messages SET status = ? WHERE message_id = ?', /Missing PRIMARY KEY part kind/],
      ['INSERT INTO messages (message_id, status) VALUES (?, ?)', /Missing mandatory PRIMARY KEY part kind/],
      ['SELECT x FROM inbox WHERE id = ?', /unconfigured table inbox/],
      ['SELECT user_id FROM users ALLOW FILTERING', /ALLOW FILTERING/],
    ];
    for (const [cql, why] of refused) assert.throws(() => emulator.prepare(cql), why, cql);
    await assert.rejects(
      emulator.batch(
        [
          { query: CQL.setSeq, params: [1, 'now', 'm1'] },
          { query: CQL.setSeq, params: [1, 'now', 'm2'] },
        ],
        { prepare: true, consistency: 6 },
      ),
      /cannot span multiple partitions/,
    );
    const conditional = [
      { query: CQL.setSeq, params: [1, 'now', 'm1'] },
      { query: CQL.insertBySeq, params: ['c', 1, 'm1', 's', '{}', '[]', null, 'h', 't', 'now'] },
    ];
    await assert.rejects(emulator.batch(conditional, LOCAL_QUORUM), /cannot span multiple tables/);
    const sameRow = [
      { query: CQL.firstCursor, params: [1] },
      { query: CQL.moveCursor, params: [2, 2] },
    ];
    await assert.rejects(emulator.batch(sameRow, LOCAL_QUORUM), /Cannot mix IF conditions and IF \[NOT\] EXISTS/);
    assert.throws(
      () => emulator.prepare("UPDATE webhook_cursor USING TIMESTAMP ? SET position = ? WHERE name = 'history' IF position < ?"),
      /custom timestamp for conditional/,
    );
  });

  it('refuses a plain write to a row that lightweight transactions write, and the reverse', async () => {
    const emulator = await emulatorWithSchema();
    // A delivery row, written by the routing's conditional batch.
    await emulator.execute(CQL.insertMessage, ['m', 'c', 's', '{}', '[]', null, 'h', 't', 'now', 1], LOCAL_QUORUM);
    const routed = await emulator.batch(
      [
        { query: CQL.setSeq, params: [1, 'now', 'm'] },
        { query: CQL.insertDelivery, params: ['m', 0, 'd', 'r', 'whatsapp', '+55', 'SENT', null, 'now', 'now'] },
      ],
      LOCAL_QUORUM,
    );
    assert.equal(routed.wasApplied(), true);
    const plainInFlight = "UPDATE messages SET in_flight_since = ? WHERE message_id = ? AND kind = 'd' AND ord = ? AND item = ?";
    await assert.rejects(emulator.execute(plainInFlight, ['now', 'm', 0, 'd'], LOCAL_QUORUM), /plain write to a row that lightweight transactions write/);
    assert.equal((await emulator.execute(CQL.setInFlight, ['now', 'm', 0, 'd'], LOCAL_QUORUM)).wasApplied(), true);

    // A webhook row, written plainly: a conditional delete of it is refused.
    await emulator.execute(CQL.insertWebhook, ['w', 'o', 'https://x', '[]', 's', 'now', 1], LOCAL_QUORUM);
    await assert.rejects(emulator.execute('DELETE FROM webhooks WHERE webhook_id = ? IF owner_id = ?', ['w', 'o'], LOCAL_QUORUM), /lightweight transaction on a row that plain writes/);
    await emulator.execute(CQL.deleteWebhook, ['w'], LOCAL_QUORUM);
  });

  it('answers a page at a time, so a read that ignores the page state misses rows', async () => {
    const emulator = await emulatorWithSchema(undefined, { pageSize: 2 });
    for (let i = 0; i < 5; i++) await emulator.execute(CQL.insertUnrouted, ['c', i, `m${i}`], LOCAL_QUORUM);
    const first = await emulator.execute(CQL.unroutedBefore, ['c', 100], LOCAL_QUORUM);
    assert.deepEqual(first.rows.map((r) => r.message_id), ['m0', 'm1']);
    assert.ok(first.pageState);
    // Written between two pages: found, after the rows already returned.
    await emulator.execute(CQL.insertUnrouted, ['c', 7, 'm7'], LOCAL_QUORUM);
    const second = await emulator.execute(CQL.unroutedBefore, ['c', 100], { ...LOCAL_QUORUM, pageState: first.pageState! });
    assert.deepEqual(second.rows.map((r) => r.message_id), ['m2', 'm3']);
    const third = await emulator.execute(CQL.unroutedBefore, ['c', 100], { ...LOCAL_QUORUM, pageState: second.pageState! });
    assert.deepEqual([third.rows.map((r) => r.message_id), third.pageState], [['m4', 'm7'], null]);
    // LIMIT holds across pages.
    for (let i = 0; i < 5; i++) await emulator.execute(CQL.insertBySeq, ['c', i + 1, `m${i}`, 's', '{}', '[]', null, 'h', 't', 'now'], LOCAL_QUORUM);
    const limited = await emulator.execute(CQL.bySeq, ['c', 0, 3], LOCAL_QUORUM);
    const rest = await emulator.execute(CQL.bySeq, ['c', 0, 3], { ...LOCAL_QUORUM, pageState: limited.pageState! });
    assert.deepEqual([...limited.rows, ...rest.rows].map((r) => num(r.seq)), [1, 2, 3]);
    assert.equal(rest.pageState, null);
  });

  it('refuses a batch over several partitions above batch_size_fail_threshold', async () => {
    const emulator = await emulatorWithSchema();
    const big = 'x'.repeat(60 * 1024);
    const twoPartitions = [
      { query: CQL.insertDeadLetter, params: ['i', 'r', 't', 0, '1', 'k', big, '{}', 'f', 'open', 'u'] },
      { query: CQL.insertDeadLetterLog, params: ['f', 'i', 'open'] },
    ];
    await assert.rejects(emulator.batch(twoPartitions, LOCAL_QUORUM), /Batch too large/);
    await emulator.batch(twoPartitions.map((q) => ({ ...q, params: q.params.map((v) => (v === big ? 'small' : v)) })), LOCAL_QUORUM);
  });

  it('sends no CREATE TABLE for tables that exist', async () => {
    const emulator = await emulatorWithSchema();
    const sent: string[] = [];
    const watched: CqlSession = {
      execute: (q, p, o) => (sent.push(q), emulator.execute(q, p, o)),
      batch: (q, o) => emulator.batch(q, o),
      shutdown: () => emulator.shutdown(),
    };
    await createTables(watched, 'chat4all');
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
  /** A session that records every statement it is sent. */
  function recorded(emulator: CqlEmulator) {
    const sent: string[] = [];
    const session: CqlSession = {
      execute: (q, p, o) => (sent.push(q), emulator.execute(q, p, o)),
      batch: (q, o) => (sent.push(...q.map((x) => x.query)), emulator.batch(q, o)),
      shutdown: () => emulator.shutdown(),
    };
    return { session, sent };
  }
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
    for (const cql of TABLES.slice(0, -2)) await emulator.execute(cql, [], LOCAL_QUORUM);
    const missing = TABLES.slice(-2).map(tableName);
    await assert.rejects(
      waitForSchema(emulator, 'chat4all', { timeoutMs: 0, ...fakeTime() }),
      (e: unknown) => e instanceof CassandraSchemaMissingError && e.message.includes(`keyspace chat4all lacks ${missing.join(', ')}.`),
    );
  });
});

describe('Cassandra rows and domain objects', () => {
  it('round-trips a message (JSON columns, null metadata, bigint seq)', () => {
    const m: Message = {
      message_id: 'm', conversation_id: 'c', sender_id: 's', payload: { type: 'file', file_id: 'f', caption: 'c' }, channels: ['all'],
      metadata: { k: [1, 'x'] }, created_at: '2030-01-01T00:00:00.000Z', seq: 7, body_hash: 'h', trace_id: 't',
    };
    const row = messageRow(m);
    assert.equal(typeof row.payload, 'string');
    assert.deepEqual(toMessage({ ...row, seq: long(7) }), m);
    assert.deepEqual(toMessage({ ...messageRow({ ...m, metadata: null, seq: null }), seq: null }), { ...m, metadata: null, seq: null });
  });

  it('round-trips a delivery (error as JSON, nulls kept)', () => {
    const d: Delivery = {
      delivery_id: 'd', message_id: 'm', conversation_id: 'c', recipient_id: 'r', channel: 'whatsapp', address: '+55', status: 'FAILED',
      provider_message_id: null, error: { code: 'x', message: 'y' }, updated_at: 'u', in_flight_since: null, next_attempt_at: '2030-01-01T00:00:00.000Z',
    };
    const row = deliveryRow({ ...d, ord: 2, at: 'a' });
    assert.equal(row.item, 'd');
    assert.deepEqual(toDelivery({ ...row, ord: long(2) }), d);
    assert.deepEqual(toDelivery(deliveryRow({ ...d, error: null, address: null, channel: 'internal', ord: 0, at: 'a' })), { ...d, error: null, address: null, channel: 'internal' });
  });

  it('round-trips history, users, conversations, dead letters, webhooks and events', () => {
    const h = { hid: idAt(Date.UTC(2030, 0, 1)) + 5, delivery_id: 'd', recipient_id: 'r', channel: 'instagram' as const, status: 'READ' as const, at: 'a', error: null };
    assert.deepEqual(toStoredHistory({ ...historyRow(h), ord: long(h.hid) }), h);

    const user = { user_id: 'u', username: 'ana', password_hash: 'p', email: null, role: 'admin' as const, created_at: 'c' };
    assert.deepEqual(toUser(userRow(user)), user);
    assert.deepEqual(toUser(userRow({ user_id: 'u', username: 'ana', password_hash: 'p', created_at: 'c' })).role, 'user');

    const c = { conversation_id: 'c', type: 'group' as const, members: ['a', 'b'], name: 'n', metadata: { topic: 'x' }, created_at: 'c' };
    assert.deepEqual(toConversation(conversationRow(c), ['a', 'b']), c);

    const letter: DeadLetter = {
      id: 'i', reason: 'r', topic: 't', partition: 3, offset: '42', key: 'k', value: 'v', headers: { a: 'b' },
      first_seen: 'f', status: 'open', updated_at: 'u',
    };
    assert.deepEqual(toDeadLetter(deadLetterRow(letter)), letter);

    const w = { webhook_id: 'w', owner_id: 'o', url: 'https://x', events: ['a', 'b'], secret: 's', created_at: 'c', start_after: 123456 };
    assert.deepEqual(toWebhook({ ...webhookRow(w), start_after: long(w.start_after) }), w);

    const e = {
      event_id: 'e', webhook_id: 'w', type: 'message.read', message_id: 'm', seq: 99, body: '{}', created_at: 'c', status: 'pending' as const,
      attempts: 2, next_attempt_at: 1_900_000_000_000, deadline: 1_900_000_100_000, lease_until: null, attempt_ids: [5, 6],
    };
    const row = webhookEventRow(e);
    assert.equal(row.lease_until, 0, 'no lease is 0, so one condition takes a lease');
    assert.deepEqual(toWebhookEvent({ ...row, seq: long(99), next_attempt_at: long(e.next_attempt_at), deadline: long(e.deadline), lease_until: long(0) }), e);
    assert.equal(toWebhookEvent(webhookEventRow({ ...e, lease_until: 17 })).lease_until, 17);
  });

  it('reads driver numbers of every kind', () => {
    assert.equal(num(long(2 ** 40)), 2 ** 40);
    assert.equal(num(5n), 5);
    assert.equal(num(3), 3);
    assert.equal(num(null), null);
    assert.equal(num(undefined), null);
  });

  it('makes time-ordered ids, stable shards and sort keys', () => {
    let t = 1_900_000_000_000;
    const ids = new TimeIds(() => t);
    const a = ids.next();
    const b = ids.next();
    assert.ok(a >= idAt(t) && a < idAt(t + 1) && b > a);
    t -= 5; // a clock that steps back does not make ids go back
    assert.ok(ids.next() > b);
    assert.ok(Number.isSafeInteger(idAt(Date.UTC(2200, 0, 1))));

    assert.equal(shardOf('delivery-1'), shardOf('delivery-1'));
    const shards = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`id-${i}`)));
    assert.deepEqual([...shards].sort(), Array.from({ length: SHARDS }, (_, i) => i));

    assert.deepEqual(sortKeyOf(msKey(1234).key), msKey(1234));
    assert.deepEqual(sortKeyOf('2030-01-01T00:00:00.000Z'), { key: '2030-01-01T00:00:00.000Z', ms: Date.UTC(2030, 0, 1) });
    assert.ok(msKey(999).key < msKey(1000).key, 'fixed width sorts as numbers');
    assert.throws(() => isoKey('yesterday'), /not an ISO time/);
  });
});

describe('CassandraMessageStore on a real-sized read, a large dead letter, and racing writers', () => {
  const iso = () => new Date().toISOString();

  async function group(size: number, pageSize = 2) {
    const emulator = await emulatorWithSchema(undefined, { pageSize });
    const store = new CassandraMessageStore(emulator.connect(), { historySettleMs: 0 });
    const members = Array.from({ length: size }, () => randomUUID());
    const conversation_id = randomUUID();
    await store.createConversation({ conversation_id, type: 'group', members, name: 'g', metadata: null, created_at: iso() });
    const accept = async () => {
      const message_id = randomUUID();
      await store.acceptMessage({
        message_id, conversation_id, sender_id: members[0]!, payload: { type: 'text', text: 'x' }, channels: ['all'],
        metadata: null, body_hash: 'h', trace_id: 't', created_at: iso(),
      });
      return message_id;
    };
    return { emulator, store, members, conversation_id, accept };
  }

  it('reads every page of members, deliveries and history', async () => {
    const { store, members, conversation_id, accept } = await group(7);
    assert.deepEqual((await store.getConversation(conversation_id))?.members, members);
    const m = await accept();
    const plan = members.slice(1).map((recipient_id) => ({ recipient_id, channel: 'internal' as const, address: null }));
    const routed = await store.routeMessage(m, plan, iso());
    assert.equal((await store.listDeliveries(m)).length, 6);
    assert.equal((await store.history(m)).length, 7, 'the acceptance and one entry per delivery');
    const again = await store.routeMessage(m, plan, iso());
    assert.deepEqual(again.deliveries, routed.deliveries, 'the stored routing, all of it');
  });

  it('keeps a dead letter larger than a multi-partition batch may be', async () => {
    const { store } = await group(1);
    const letter: DeadLetter = {
      id: randomUUID(), reason: 'poison', topic: `t-${randomUUID()}`, partition: 0, offset: '7', key: 'k', value: 'v'.repeat(200 * 1024),
      headers: {}, first_seen: iso(), status: 'open', updated_at: iso(),
    };
    assert.deepEqual(await store.addDeadLetter(letter), letter);
    assert.deepEqual((await store.listDeadLetters()).map((l) => l.id), [letter.id]);
  });

  it('lists a dead letter whose log entry a crash left out, once the record comes again', async () => {
    const emulator = await emulatorWithSchema();
    const letter: DeadLetter = {
      id: randomUUID(), reason: 'poison', topic: 't', partition: 0, offset: '8', key: 'k', value: 'v', headers: {},
      first_seen: iso(), status: 'open', updated_at: iso(),
    };
    const crashed = new CassandraMessageStore(crashing(emulator.connect(), (q) => q === CQL.insertDeadLetterLog));
    await assert.rejects(crashed.addDeadLetter(letter), /injected crash/);
    const store = new CassandraMessageStore(emulator.connect());
    assert.deepEqual(await store.listDeadLetters(), []);
    assert.deepEqual(await store.addDeadLetter({ ...letter, id: randomUUID() }), letter);
    assert.deepEqual((await store.listDeadLetters()).map((l) => l.id), [letter.id]);
  });

  it('gives racing routers every seq once, without gaps', async () => {
    const { emulator, conversation_id, accept } = await group(2);
    const routers = Array.from({ length: 4 }, () => new CassandraMessageStore(emulator.connect(), { historySettleMs: 0 }));
    const messages: string[] = [];
    for (let i = 0; i < 8; i++) messages.push(await accept());
    const results = await Promise.all(messages.map((m, i) => routers[i % routers.length]!.routeMessage(m, [], iso())));
    assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    const listed = await routers[0]!.listMessages(conversation_id, 0, 100);
    assert.deepEqual(listed.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(new Set(listed.map((m) => m.message_id)), new Set(messages));
  });

  it('applies a status once when consumers race, and counts every racing park', async () => {
    const { emulator, members, accept } = await group(2);
    const stores = Array.from({ length: 3 }, () => new CassandraMessageStore(emulator.connect(), { historySettleMs: 0 }));
    const m = await accept();
    const { deliveries } = await stores[0]!.routeMessage(m, [{ recipient_id: members[1]!, channel: 'whatsapp', address: '+55' }], iso());
    const delivery_id = deliveries[0]!.delivery_id;

    await Promise.all(stores.map((s, i) => s.parkDelivery(delivery_id, new Date(Date.now() + 60_000 + i).toISOString())));
    const row = emulator.dump('messages').find((r) => r.kind === 'd' && r.item === delivery_id)!;
    assert.equal(row.attempts, 3, 'three parks, three attempts');

    const event = { delivery_id, status: 'DELIVERED' as const, at: iso(), source: 'provider' };
    const applied = await Promise.all(stores.map((s) => s.applyStatus(event)));
    assert.equal(applied.filter((a) => a.applied).length, 1);
    assert.deepEqual((await stores[0]!.history(m)).map((h) => h.status), ['SENT', 'SENT', 'DELIVERED']);
  });
});

/** A session that fails the first `times` statements `when` picks (a process that stops there). */
function crashing(session: CqlSession, when: (query: string) => boolean, times = 1): CqlSession {
  let left = times;
  const trip = (query: string) => {
    if (left > 0 && when(query)) {
      left--;
      throw new Error(`injected crash before: ${query.slice(0, 40)}`);
    }
  };
  return {
    execute: async (q, p, o) => {
      trip(q);
      return session.execute(q, p, o);
    },
    batch: async (qs, o) => {
      for (const q of qs) trip(q.query);
      return session.batch(qs, o);
    },
    shutdown: () => session.shutdown(),
  };
}

describe('CassandraMessageStore after a crash between two writes', () => {
  const iso = () => new Date().toISOString();

  async function setUp(session: (e: CqlEmulator) => CqlSession) {
    const emulator = await emulatorWithSchema();
    const store = new CassandraMessageStore(session(emulator), { historySettleMs: 0 });
    const healthy = new CassandraMessageStore(emulator.connect(), { historySettleMs: 0 });
    const [a, b, conversation_id] = [randomUUID(), randomUUID(), randomUUID()];
    await healthy.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: iso() });
    const accept = async () => {
      const message_id = randomUUID();
      await healthy.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: message_id }, channels: ['whatsapp'],
        metadata: null, body_hash: 'h', trace_id: 't', created_at: iso(),
      });
      return message_id;
    };
    return { store, healthy, a, b, conversation_id, accept };
  }

  it('rebuilds the query rows of a message routed just before the crash', async () => {
    const { store, healthy, b, conversation_id, accept } = await setUp((e) => crashing(e.connect(), (q) => q === CQL.insertDeliveryKey));
    const m = await accept();
    const plan = [{ recipient_id: b, channel: 'whatsapp' as const, address: '+55' }];
    await assert.rejects(store.routeMessage(m, plan, iso()), /injected crash/);
    assert.equal((await healthy.getMessage(m))?.seq, 1, 'the routing itself is stored');
    assert.deepEqual((await healthy.listMessages(conversation_id, 0, 10)).map((x) => [x.message_id, x.seq]), [[m, 1]], 'listed by seq already');
    const [delivery] = await healthy.listDeliveries(m);
    assert.equal(await healthy.getDelivery(delivery!.delivery_id), null, 'its lookup row is missing');

    // The outbox relay's scan finds it still queued as unrouted, and finishes the job.
    assert.deepEqual(await healthy.listUnrouted(new Date(Date.now() + 1000).toISOString(), 10), []);
    assert.equal((await healthy.getDelivery(delivery!.delivery_id))?.status, 'SENT');
    assert.deepEqual((await healthy.listUnsentBefore(conversation_id, 'whatsapp', 2)).map((d) => d.delivery_id), [delivery!.delivery_id]);
    const again = await healthy.routeMessage(m, plan, iso());
    assert.deepEqual([again.seq, again.routedNow], [1, false]);
    assert.deepEqual(again.deliveries, [delivery]);
  });

  it('finishes a routing whose seq was taken before the crash, so no seq is skipped', async () => {
    const { store, healthy, b, conversation_id, accept } = await setUp((e) => crashing(e.connect(), (q) => q === CQL.setSeq));
    const m1 = await accept();
    const m2 = await accept();
    const plan = [{ recipient_id: b, channel: 'internal' as const, address: null }];
    await assert.rejects(store.routeMessage(m1, plan, iso()), /injected crash/);
    assert.equal((await healthy.getMessage(m1))?.seq, null);
    assert.deepEqual((await healthy.listMessages(conversation_id, 0, 10)).map((x) => x.message_id), [m1], 'its seq is taken');

    // Another router, routing the next message, first applies the routing m1 had claimed.
    const routed = await healthy.routeMessage(m2, plan, iso());
    assert.equal(routed.seq, 2);
    assert.deepEqual((await healthy.listMessages(conversation_id, 0, 10)).map((x) => [x.message_id, x.seq]), [[m1, 1], [m2, 2]]);
    assert.equal((await healthy.listDeliveries(m1)).length, 1);
    const replay = await healthy.routeMessage(m1, plan, iso());
    assert.deepEqual([replay.seq, replay.routedNow], [1, false]);
  });
});

describe('CassandraMessageStore queue buckets', () => {
  it('forgets an empty bucket after its margin, and still finds an item written into it later', async () => {
    let t = Date.UTC(2030, 0, 1, 0, 0, 30);
    const clock = () => t;
    const emulator = await emulatorWithSchema(clock);
    const store = new CassandraMessageStore(emulator.connect(), { now: clock, historySettleMs: 0 });
    const [a, conversation_id] = [randomUUID(), randomUUID()];
    await store.createConversation({ conversation_id, type: 'private', members: [a], name: null, metadata: null, created_at: new Date(t).toISOString() });
    const accept = async (created: number) => {
      const message_id = randomUUID();
      await store.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'x' }, channels: ['all'], metadata: null,
        body_hash: 'h', trace_id: 't', created_at: new Date(created).toISOString(),
      });
      return message_id;
    };
    const buckets = () => emulator.dump('pending_buckets').filter((r) => r.kind === 'unrouted').map((r) => num(r.bucket));
    const bucket = Math.floor(t / BUCKET_MS);

    const m1 = await accept(t);
    await store.routeMessage(m1, [], new Date(t).toISOString());
    assert.deepEqual(buckets(), [bucket]);

    t += BUCKET_MS; // the bucket is over, but a write to it may still be under way
    assert.deepEqual(await store.listUnrouted(new Date(t).toISOString(), 10), []);
    assert.deepEqual(buckets(), [bucket], 'kept within its margin');

    t += RETIRE_MARGIN_MS;
    assert.deepEqual(await store.listUnrouted(new Date(t).toISOString(), 10), []);
    assert.deepEqual(buckets(), [], 'forgotten once empty and past its margin');

    // A message stamped inside that old minute but stored only now is still found.
    const late = await accept(Date.UTC(2030, 0, 1, 0, 0, 45));
    assert.deepEqual(buckets(), [bucket]);
    assert.deepEqual((await store.listUnrouted(new Date(t).toISOString(), 10)).map((m) => m.message_id), [late]);
  });
});

describe('CassandraMessageStore.connect', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A TCP server on 127.0.0.1 that does `onSocket` with each connection; returns its port. */
  async function server(onSocket: (s: Socket) => void): Promise<number> {
    const srv = createServer((s) => {
      sockets.push(s);
      onSocket(s);
    });
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return (srv.address() as { port: number }).port;
  }

  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    await new Promise((resolve) => srv.close(resolve));
    return port;
  }

  const options = (port: number) => ({ contactPoints: [`127.0.0.1:${port}`], localDataCenter: 'datacenter1', keyspace: 'chat4all', connectTimeoutMs: 1500 });
  const namesContactPoints = (port: number) => (e: unknown) =>
    e instanceof CassandraUnreachableError && e.retriable && e.message.includes(`CASSANDRA_CONTACT_POINTS=127.0.0.1:${port}`);

  it('names the contact points when nothing listens there', { timeout: 30_000 }, async () => {
    const port = await closedPort();
    await assert.rejects(CassandraMessageStore.connect(options(port)), namesContactPoints(port));
  });

  it('gives up after the connect timeout when the other end never answers', { timeout: 30_000 }, async () => {
    const port = await server(() => undefined);
    await assert.rejects(CassandraMessageStore.connect(options(port)), (e: unknown) => namesContactPoints(port)(e) && /1500 ms/.test((e as Error).message));
  });

  it('names the contact points when the other end hangs up', { timeout: 30_000 }, async () => {
    const port = await server((s) => s.destroy());
    await assert.rejects(CassandraMessageStore.connect(options(port)), namesContactPoints(port));
  });

  it('makes buildAdapters fail with that message for STORE_DRIVER=cassandra', { timeout: 30_000 }, async () => {
    const port = await server(() => undefined);
    const config = loadConfig({
      STORE_DRIVER: 'cassandra',
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}`,
      CASSANDRA_LOCAL_DATA_CENTER: 'datacenter1',
      CASSANDRA_KEYSPACE: 'chat4all',
      CASSANDRA_CONNECT_TIMEOUT_MS: '1500',
    });
    await assert.rejects(buildAdapters(config), (e: unknown) =>
      namesContactPoints(port)(e) && /^could not connect to Cassandra at CASSANDRA_CONTACT_POINTS=.*1500 ms/.test((e as Error).message),
    );
  });
});

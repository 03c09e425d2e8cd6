import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { types } from 'cassandra-driver';
import {
  BUCKET_MS,
  CQL,
  CassandraMessageStore,
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
  webhookEventRow,
  webhookRow,
  type CqlSession,
} from './cassandra-message-store.ts';
import { TABLES, keyspaceCql, tableName } from './cassandra-schema.ts';
import { CqlEmulator } from '../../../test/contracts/cql-emulator.ts';
import { loadConfig } from '../config.ts';
import { buildAdapters } from '../build-adapters.ts';
import type { Delivery, Message } from '../domain/types.ts';
import type { DeadLetter } from '../dead-letters.ts';

const long = (n: number) => types.Long.fromNumber(n);

async function emulatorWithSchema(now?: () => number) {
  const emulator = new CqlEmulator(now);
  await createTables(emulator);
  return emulator;
}

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

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emulatorWithSchema, QUORUM } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import { TABLES, tableName } from './schema.ts';
import { CQL } from './statements.ts';
import { num } from './values.ts';

// Every statement of the store against the schema, on an emulator that refuses what Cassandra
// refuses (and what this store must not do though Cassandra accepts it): the cross-check can fail.
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
    await assert.rejects(emulator.batch(conditional, QUORUM), /cannot span multiple tables/);
    const sameRow = [
      { query: CQL.firstCursor, params: [1] },
      { query: CQL.moveCursor, params: [2, 2] },
    ];
    await assert.rejects(emulator.batch(sameRow, QUORUM), /Cannot mix IF conditions and IF \[NOT\] EXISTS/);
    assert.throws(
      () => emulator.prepare("UPDATE webhook_cursor USING TIMESTAMP ? SET position = ? WHERE name = 'history' IF position < ?"),
      /custom timestamp for conditional/,
    );
  });

  it('refuses a plain write to a row that lightweight transactions write, and the reverse', async () => {
    const emulator = await emulatorWithSchema();
    // A delivery row, written by the routing's conditional batch.
    await emulator.execute(CQL.insertMessage, ['m', 'c', 's', '{}', '[]', null, 'h', 't', 'now', 1], QUORUM);
    const routed = await emulator.batch(
      [
        { query: CQL.setSeq, params: [1, 'now', 'm'] },
        { query: CQL.insertDelivery, params: ['m', 0, 'd', 'r', 'whatsapp', '+55', 'SENT', null, 'now', 'now'] },
      ],
      QUORUM,
    );
    assert.equal(routed.wasApplied(), true);
    const plainInFlight = "UPDATE messages SET in_flight_since = ? WHERE message_id = ? AND kind = 'd' AND ord = ? AND item = ?";
    await assert.rejects(emulator.execute(plainInFlight, ['now', 'm', 0, 'd'], QUORUM), /plain write to a row that lightweight transactions write/);
    assert.equal((await emulator.execute(CQL.setInFlight, ['now', 'm', 0, 'd'], QUORUM)).wasApplied(), true);

    // A webhook row, written plainly: a conditional delete of it is refused.
    await emulator.execute(CQL.insertWebhook, ['w', 'o', 'https://x', '[]', 's', 'now', 1], QUORUM);
    await assert.rejects(emulator.execute('DELETE FROM webhooks WHERE webhook_id = ? IF owner_id = ?', ['w', 'o'], QUORUM), /lightweight transaction on a row that plain writes/);
    await emulator.execute(CQL.deleteWebhook, ['w'], QUORUM);
  });

  it('answers a page at a time, so a read that ignores the page state misses rows', async () => {
    const emulator = await emulatorWithSchema(undefined, { pageSize: 2 });
    for (let i = 0; i < 5; i++) await emulator.execute(CQL.insertUnrouted, ['c', i, `m${i}`], QUORUM);
    const first = await emulator.execute(CQL.unroutedBefore, ['c', 100], QUORUM);
    assert.deepEqual(first.rows.map((r) => r.message_id), ['m0', 'm1']);
    assert.ok(first.pageState);
    // Written between two pages: found, after the rows already returned.
    await emulator.execute(CQL.insertUnrouted, ['c', 7, 'm7'], QUORUM);
    const second = await emulator.execute(CQL.unroutedBefore, ['c', 100], { ...QUORUM, pageState: first.pageState! });
    assert.deepEqual(second.rows.map((r) => r.message_id), ['m2', 'm3']);
    const third = await emulator.execute(CQL.unroutedBefore, ['c', 100], { ...QUORUM, pageState: second.pageState! });
    assert.deepEqual([third.rows.map((r) => r.message_id), third.pageState], [['m4', 'm7'], null]);
    // LIMIT holds across pages.
    for (let i = 0; i < 5; i++) await emulator.execute(CQL.insertBySeq, ['c', i + 1, `m${i}`, 's', '{}', '[]', null, 'h', 't', 'now'], QUORUM);
    const limited = await emulator.execute(CQL.bySeq, ['c', 0, 3], QUORUM);
    const rest = await emulator.execute(CQL.bySeq, ['c', 0, 3], { ...QUORUM, pageState: limited.pageState! });
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
    await assert.rejects(emulator.batch(twoPartitions, QUORUM), /Batch too large/);
    await emulator.batch(twoPartitions.map((q) => ({ ...q, params: q.params.map((v) => (v === big ? 'small' : v)) })), QUORUM);
  });
});

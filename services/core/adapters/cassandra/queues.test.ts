import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { conversation, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import { BUCKET_MS, RETIRE_MARGIN_MS, SHARDS, TimeIds, idAt, isoKey, msKey, shardOf, sortKeyOf } from './keys.ts';
import { num } from './values.ts';

describe('Cassandra queues: ids, shards, sort keys and buckets', () => {
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

  it('forgets an empty bucket after its margin, and still finds an item written into it later', async () => {
    let t = Date.UTC(2030, 0, 1, 0, 0, 30);
    const clock = () => t;
    const emulator = await emulatorWithSchema(clock);
    const stores = emulatedStores(emulator, { now: clock });
    const { accept } = await conversation(stores, 1, { at: t });
    const buckets = () => emulator.dump('pending_buckets').filter((r) => r.kind === 'unrouted').map((r) => num(r.bucket));
    const bucket = Math.floor(t / BUCKET_MS);

    const m1 = await accept(t);
    await stores.messages.routeMessage(m1, [], new Date(t).toISOString());
    assert.deepEqual(buckets(), [bucket]);

    t += BUCKET_MS; // the bucket is over, but a write to it may still be under way
    assert.deepEqual(await stores.messages.listUnrouted(new Date(t).toISOString(), 10), []);
    assert.deepEqual(buckets(), [bucket], 'kept within its margin');

    t += RETIRE_MARGIN_MS;
    assert.deepEqual(await stores.messages.listUnrouted(new Date(t).toISOString(), 10), []);
    assert.deepEqual(buckets(), [], 'forgotten once empty and past its margin');

    // A message stamped inside that old minute but stored only now is still found.
    const late = await accept(Date.UTC(2030, 0, 1, 0, 0, 45));
    assert.deepEqual(buckets(), [bucket]);
    assert.deepEqual((await stores.messages.listUnrouted(new Date(t).toISOString(), 10)).map((m) => m.message_id), [late]);
  });
});

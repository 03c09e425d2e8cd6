import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { conversation, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';

const iso = () => new Date().toISOString();

describe('CassandraDeliveryStore with racing writers', () => {
  it('applies a status once when consumers race, and counts every racing park', async () => {
    const emulator = await emulatorWithSchema(undefined, { pageSize: 2 });
    const [first, ...others] = Array.from({ length: 3 }, () => emulatedStores(emulator));
    const { members, accept } = await conversation(first!, 2);
    const m = await accept();
    const { deliveries } = await first!.messages.routeMessage(m, [{ recipient_id: members[1]!, channel: 'whatsapp', address: '+55' }], iso());
    const delivery_id = deliveries[0]!.delivery_id;
    const consumers = [first!, ...others].map((s) => s.deliveries);

    await Promise.all(consumers.map((s, i) => s.parkDelivery(delivery_id, new Date(Date.now() + 60_000 + i).toISOString())));
    const row = emulator.dump('messages').find((r) => r.kind === 'd' && r.item === delivery_id)!;
    assert.equal(row.attempts, 3, 'three parks, three attempts');

    const event = { delivery_id, status: 'DELIVERED' as const, at: iso(), source: 'provider' };
    const applied = await Promise.all(consumers.map((s) => s.applyStatus(event)));
    assert.equal(applied.filter((a) => a.applied).length, 1);
    assert.deepEqual((await first!.messages.history(m)).map((h) => h.status), ['SENT', 'SENT', 'DELIVERED']);
  });
});

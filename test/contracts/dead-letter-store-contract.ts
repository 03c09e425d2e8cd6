import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeadLetter } from '../../services/core/ports/dead-letter-store.ts';
import { AppError } from '../../services/core/errors.ts';
import { eachTestStores, id, now, type StoresFactory } from './store-fixtures.ts';

/** The DeadLetterStore contract: records set aside, once per source record. */
export function deadLetterStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: dead letters`, () => {
    const ctx = eachTestStores(make);

    it('keeps a dead letter once per source record', async () => {
      const { deadLetters } = ctx.stores;
      const topic = `t-${id()}`;
      const letter = (n: number, first_seen: string): DeadLetter => ({
        id: id(), reason: `r${n}`, topic, partition: 3, offset: String(n), key: 'k', value: `v${n}`,
        headers: { trace_id: 'x' }, first_seen, status: 'open', updated_at: first_seen,
      });
      const one = letter(1, '2030-01-01T00:00:00.000Z');
      assert.deepEqual(await deadLetters.addDeadLetter(one), one);
      assert.deepEqual(await deadLetters.addDeadLetter({ ...one, id: id(), reason: 'again' }), one, 'the same record again keeps the first');
      const two = await deadLetters.addDeadLetter(letter(2, '2030-01-02T00:00:00.000Z'));
      const listed = (await deadLetters.listDeadLetters()).filter((l) => l.topic === topic);
      assert.deepEqual(listed.map((l) => l.id), [two.id, one.id], 'newest first');
      const replayed = await deadLetters.setDeadLetterStatus(one.id, 'replayed', now());
      assert.equal(replayed.status, 'replayed');
      assert.deepEqual((await deadLetters.getDeadLetter(one.id))?.status, 'replayed');
      assert.deepEqual((await deadLetters.listDeadLetters('open')).filter((l) => l.topic === topic).map((l) => l.id), [two.id]);
      assert.deepEqual((await deadLetters.listDeadLetters('replayed')).filter((l) => l.topic === topic).map((l) => l.id), [one.id]);
      await assert.rejects(deadLetters.setDeadLetterStatus(id(), 'purged', now()), (e: unknown) => e instanceof AppError && e.status === 404);
      assert.equal(await deadLetters.getDeadLetter(id()), null);
    });
  });
}

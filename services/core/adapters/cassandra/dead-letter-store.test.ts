import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { crashing, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import type { DeadLetter } from '../../ports/dead-letter-store.ts';
import { CQL } from './statements.ts';

const iso = () => new Date().toISOString();

describe('CassandraDeadLetterStore', () => {
  it('keeps a dead letter larger than a multi-partition batch may be', async () => {
    const { deadLetters } = emulatedStores(await emulatorWithSchema(undefined, { pageSize: 2 }));
    const letter: DeadLetter = {
      id: randomUUID(), reason: 'poison', topic: `t-${randomUUID()}`, partition: 0, offset: '7', key: 'k', value: 'v'.repeat(200 * 1024),
      headers: {}, first_seen: iso(), status: 'open', updated_at: iso(),
    };
    assert.deepEqual(await deadLetters.addDeadLetter(letter), letter);
    assert.deepEqual((await deadLetters.listDeadLetters()).map((l) => l.id), [letter.id]);
  });

  it('lists a dead letter whose log entry a crash left out, once the record comes again', async () => {
    const emulator = await emulatorWithSchema();
    const letter: DeadLetter = {
      id: randomUUID(), reason: 'poison', topic: 't', partition: 0, offset: '8', key: 'k', value: 'v', headers: {},
      first_seen: iso(), status: 'open', updated_at: iso(),
    };
    const crashed = emulatedStores(crashing(emulator.connect(), (q) => q === CQL.insertDeadLetterLog)).deadLetters;
    await assert.rejects(crashed.addDeadLetter(letter), /injected crash/);
    const { deadLetters } = emulatedStores(emulator);
    assert.deepEqual(await deadLetters.listDeadLetters(), []);
    assert.deepEqual(await deadLetters.addDeadLetter({ ...letter, id: randomUUID() }), letter);
    assert.deepEqual((await deadLetters.listDeadLetters()).map((l) => l.id), [letter.id]);
  });
});

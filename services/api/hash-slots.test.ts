import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../core/errors.ts';
import { HashSlots } from './hash-slots.ts';

/** A piece of work that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return { open, work: () => done };
}

describe('HashSlots', () => {
  it('runs `concurrency` at once, queues up to `queue`, refuses the rest at once with 503 and Retry-After', async () => {
    const slots = new HashSlots(2, 1);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) => slots.run(async () => (started.push(i), g.work())));
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(slots.load, { running: 2, waiting: 1 });

    await assert.rejects(
      slots.run(async () => assert.fail('must not run')),
      (e: unknown) => e instanceof AppError && e.status === 503 && e.headers?.['Retry-After'] === '1' && e.retriable,
    );

    gates[0]!.open();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2], 'the queued one takes the freed slot');
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    assert.deepEqual(slots.load, { running: 0, waiting: 0 });
  });

  it('frees the slot when the work fails', async () => {
    const slots = new HashSlots(1, 0);
    await assert.rejects(slots.run(async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await slots.run(async () => 42), 42);
  });
});

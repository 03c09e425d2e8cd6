import { it } from 'node:test';
import assert from 'node:assert/strict';
import { startPeriodic } from './periodic.ts';

it('runs passes one at a time, on the timer and on tick(), reports errors and goes on, and stop() waits for the pass under way', async () => {
  let inPass = 0;
  let maxInPass = 0;
  let passes = 0;
  const errors: unknown[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const loop = startPeriodic({
    intervalMs: 5,
    pass: async () => {
      inPass++;
      maxInPass = Math.max(maxInPass, inPass);
      passes++;
      try {
        if (passes === 1) throw new Error('first pass fails');
        if (passes === 3) await gate;
      } finally {
        inPass--;
      }
    },
    onError: (err) => errors.push(err),
  });
  while (passes < 3) await new Promise((r) => setTimeout(r, 5));
  const manual = loop.tick(); // queued behind the third pass, which waits on the gate
  const stopping = loop.stop();
  let stopped = false;
  void stopping.then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(stopped, false, 'stop() waits for the pass under way');
  release();
  await manual;
  await stopping;
  assert.equal(maxInPass, 1, 'never two passes at once');
  assert.equal(errors.length, 1);
  assert.equal(passes, 4, 'the manual tick ran after the timed pass; no timed pass after stop()');
});

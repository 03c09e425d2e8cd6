import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batches, bytesOf, partRange, planFits } from './upload-plan.ts';

describe('upload plan', () => {
  const MiB = 2 ** 20;

  it('gives each part its byte range; the last one is shorter', () => {
    const size = 20 * MiB + 5;
    assert.deepEqual(partRange(size, 8 * MiB, 3, 1), { part_number: 1, start: 0, end: 8 * MiB - 1, size: 8 * MiB });
    assert.deepEqual(partRange(size, 8 * MiB, 3, 3), { part_number: 3, start: 16 * MiB, end: 20 * MiB + 4, size: 4 * MiB + 5 });
    assert.equal(bytesOf(size, 8 * MiB, 3, [1, 2, 3]), size);
    assert.throws(() => partRange(size, 8 * MiB, 3, 4), /outside 1…3/);
    assert.throws(() => partRange(size, 8 * MiB, 3, 0), /outside/);
  });

  it('an empty file is one empty part', () => {
    assert.deepEqual(partRange(0, 8 * MiB, 1, 1), { part_number: 1, start: 0, end: -1, size: 0 });
    assert.equal(planFits(0, 8 * MiB, 1), true);
  });

  it('refuses a plan that does not cover the file exactly', () => {
    assert.equal(planFits(16 * MiB, 8 * MiB, 2), true);
    assert.equal(planFits(16 * MiB + 1, 8 * MiB, 2), false);
    assert.equal(planFits(16 * MiB, 8 * MiB, 3), false);
    assert.equal(planFits(2 ** 31, 8 * MiB, 256), true, '2 GiB in 8 MiB parts');
    assert.equal(planFits(10, 0, 1), false);
  });

  it('slices part lists for the 1,000-URL calls', () => {
    const parts = Array.from({ length: 2500 }, (_, i) => i + 1);
    assert.deepEqual(batches(parts, 1000).map((b) => [b[0], b.length]), [[1, 1000], [1001, 1000], [2001, 500]]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordBytes, splitBySize } from './record-batches.ts';

describe('splitBySize', () => {
  const rec = (key: string, size: number) => ({ key, value: 'x'.repeat(size), headers: { trace_id: 't' } });

  it('keeps every run under the bound and every record in its order', () => {
    const records = Array.from({ length: 100 }, (_, i) => rec(i % 3 === 0 ? 'a' : 'b', 1000 + i));
    const runs = splitBySize(records, 10_000);
    assert.ok(runs.length > 1);
    for (const run of runs) assert.ok(run.reduce((n, r) => n + recordBytes(r), 0) <= 10_000);
    assert.deepEqual(runs.flat(), records);
  });

  it('puts a record bigger than the bound alone, and gives nothing for nothing', () => {
    const runs = splitBySize([rec('a', 10), rec('a', 50_000), rec('a', 10)], 10_000);
    assert.deepEqual(runs.map((r) => r.length), [1, 1, 1]);
    assert.deepEqual(splitBySize([], 10_000), []);
  });

  it('counts bytes, not characters', () => {
    assert.ok(recordBytes({ key: 'k', value: '😀'.repeat(100) }) >= 400);
  });
});

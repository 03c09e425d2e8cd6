import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedId } from './time-ordered-id.ts';

describe('timeOrderedId', () => {
  it('is a version 7 UUID whose first 48 bits are the time in ms, so later ids sort after earlier ones', () => {
    const a = timeOrderedId(1_700_000_000_000);
    const b = timeOrderedId(1_700_000_000_001);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(a.slice(0, 8) + a.slice(9, 13), 16), 1_700_000_000_000);
    assert.ok(a < b);
  });

  it('differs between ids of the same ms', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => timeOrderedId(1_700_000_000_000)));
    assert.equal(ids.size, 1000);
  });
});

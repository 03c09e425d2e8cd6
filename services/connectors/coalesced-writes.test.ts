import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatusEvent } from '../core/domain/types.ts';
import type { ApplyResult } from '../core/ports/delivery-store.ts';
import { coalesced, statusWrites } from './coalesced-writes.ts';

describe('coalesced writes: one store call per turn of the event loop', () => {
  it('writes the items of one turn together, in order, each caller getting its own result', async () => {
    const writes: number[][] = [];
    const write = coalesced(async (items: number[]) => (writes.push(items), items.map((i) => i * 10)));
    const first = await Promise.all([write(1), write(2), write(3)]);
    const second = await write(4);
    assert.deepEqual(first, [10, 20, 30]);
    assert.equal(second, 40);
    assert.deepEqual(writes, [[1, 2, 3], [4]], 'a later turn is a write of its own');
  });

  it('tells every caller of a failed write, and the next turn writes again', async () => {
    let fail = true;
    const write = coalesced(async (items: string[]) => {
      if (fail) throw new Error('store down');
      return items;
    });
    const results = await Promise.allSettled([write('a'), write('b')]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal(await write('c'), 'c');
  });

  it("applies the statuses of webhooks of one turn in one call, each webhook answered with its own results", async () => {
    const calls: string[][] = [];
    const store = {
      applyStatuses: async (events: StatusEvent[]): Promise<ApplyResult[]> => {
        calls.push(events.map((e) => `${e.delivery_id}:${e.status}`));
        return events.map((e) => ({ applied: e.status !== 'SENT', delivery: null }));
      },
    };
    const at = new Date(0).toISOString();
    const ev = (delivery_id: string, status: StatusEvent['status']): StatusEvent => ({ delivery_id, status, at, source: 'provider' });
    const apply = statusWrites(store);
    const [a, b] = await Promise.all([apply([ev('d1', 'SENT'), ev('d1', 'DELIVERED')]), apply([ev('d2', 'READ')])]);
    assert.deepEqual(calls, [['d1:SENT', 'd1:DELIVERED', 'd2:READ']]);
    assert.deepEqual(a.map((r) => r.applied), [false, true]);
    assert.deepEqual(b.map((r) => r.applied), [true]);
    assert.equal(statusWrites(store), apply, 'one writer per store');
  });
});

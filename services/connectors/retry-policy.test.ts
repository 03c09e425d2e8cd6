import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from './retry-policy.ts';
import { Pacer } from './pacer.ts';

describe('backoffDelay', () => {
  const opts = { baseMs: 200, maxMs: 5000 };
  it('grows exponentially with jitter in the upper half, capped', () => {
    assert.equal(backoffDelay(1, opts, null, () => 0), 100);
    assert.equal(backoffDelay(1, opts, null, () => 1), 200);
    assert.equal(backoffDelay(4, opts, null, () => 1), 1600);
    assert.equal(backoffDelay(20, opts, null, () => 1), 5000);
    assert.equal(backoffDelay(20, opts, null, () => 0), 2500);
  });
  it("never waits less than the provider's Retry-After", () => {
    assert.equal(backoffDelay(1, opts, 3000, () => 0), 3000);
    assert.equal(backoffDelay(10, opts, 1000, () => 1), 5000);
  });
});

describe('Pacer', () => {
  it('lets a burst of one second through, then paces to the rate, per key', async () => {
    let now = 0;
    const slept: number[] = [];
    const pacer = new Pacer({ now: () => now }, async (ms) => {
      slept.push(ms);
      now += ms;
    });
    for (let i = 0; i < 80; i++) assert.equal(await pacer.take('wa:+551', 80), 0);
    let waited = 0;
    for (let i = 0; i < 80; i++) waited += await pacer.take('wa:+551', 80);
    assert.ok(now >= 990 && now <= 1010, `80 more calls took ${now} ms at 80/s`);
    assert.ok(waited > 0);
    assert.equal(await pacer.take('wa:+552', 80), 0, 'another sender has its own bucket');
  });
});

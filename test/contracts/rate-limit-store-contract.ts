import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eachTestStores, id, type StoresFactory } from './store-fixtures.ts';

const MINUTE = 60_000;
/** A time in the middle of a window, 20 s before it ends. */
const T = 1_800_000_000_000 + 40_000;

/** The RateLimitStore contract: fixed-window counters, atomic across callers. */
export function rateLimitStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: rate limits`, () => {
    const ctx = eachTestStores(make);

    it('allows up to the limit in a window, then refuses until the window ends', async () => {
      const { rateLimits } = ctx.stores;
      const key = `login:ip:${id()}`;
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await rateLimits.consume(key, 1, MINUTE, 3, T + i));
      assert.deepEqual(seen.map((d) => d.allowed), [true, true, true, false]);
      assert.deepEqual(seen.map((d) => d.remaining), [2, 1, 0, 0]);
      assert.equal(seen[0]!.retryAfterMs, 0);
      assert.equal(seen[3]!.retryAfterMs, 20_000 - 3, 'until the end of the window');
      assert.equal((await rateLimits.consume(key, 1, MINUTE, 3, T + 19_999)).allowed, false, 'still refused at the last ms');
      const next = await rateLimits.consume(key, 1, MINUTE, 3, T + 20_000);
      assert.deepEqual(next, { allowed: true, remaining: 2, retryAfterMs: 0 }, 'a new window starts at zero');
    });

    it('counts keys apart, and a cost of more than one', async () => {
      const { rateLimits } = ctx.stores;
      const [a, b] = [`send:user:${id()}`, `send:user:${id()}`];
      assert.deepEqual(await rateLimits.consume(a, 5, MINUTE, 6, T), { allowed: true, remaining: 1, retryAfterMs: 0 });
      assert.equal((await rateLimits.consume(a, 2, MINUTE, 6, T)).allowed, false);
      assert.equal((await rateLimits.consume(b, 6, MINUTE, 6, T)).allowed, true, 'another key has its own count');
    });

    it('consumes several counters in order and stops at the first refused one', async () => {
      const { rateLimits } = ctx.stores;
      const [user, conv, other] = [`sendsPerUser:${id()}`, `sendsPerConversation:${id()}`, `sendsPerConversation:${id()}`];
      const both = (limit: number, key = conv) => [{ key: user, cost: 1, windowMs: MINUTE, limit }, { key, cost: 1, windowMs: MINUTE, limit: 5 }];
      assert.deepEqual(await rateLimits.consumeEach(both(2), T), [
        { allowed: true, remaining: 1, retryAfterMs: 0 },
        { allowed: true, remaining: 4, retryAfterMs: 0 },
      ]);
      assert.deepEqual((await rateLimits.consumeEach(both(2), T)).map((d) => d.remaining), [0, 3]);
      const refused = await rateLimits.consumeEach(both(2, other), T);
      assert.deepEqual(refused, [{ allowed: false, remaining: 0, retryAfterMs: 20_000 }], 'the first refused counter ends the list');
      assert.equal((await rateLimits.consume(other, 1, MINUTE, 5, T)).remaining, 4, 'the counter after a refused one was not touched');
      assert.equal((await rateLimits.consume(conv, 1, MINUTE, 5, T)).remaining, 2, 'consumeEach and consume share the counters');
      assert.deepEqual(await rateLimits.consumeEach([], T), []);
    });

    it('lets exactly the limit through when callers race', async () => {
      const { rateLimits } = ctx.stores;
      const key = `register:ip:${id()}`;
      const decisions = await Promise.all(Array.from({ length: 12 }, () => rateLimits.consume(key, 1, MINUTE, 5, T)));
      assert.equal(decisions.filter((d) => d.allowed).length, 5);
    });
  });
}

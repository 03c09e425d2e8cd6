import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../core/config.ts';
import { routerTestOnly } from './experiment-switches.ts';

test('the router test-only switches come from the config, off by default', async () => {
  const off = routerTestOnly(loadConfig({}));
  assert.equal(off.disableRecovery, false);
  const started = performance.now();
  await Promise.all(Array.from({ length: 100 }, () => off.storeRoundTrip()));
  assert.ok(performance.now() - started < 50, 'no emulated latency when off');

  const on = routerTestOnly(loadConfig({ CHAOS_DISABLE_RECOVERY: 'true', ROUTER_EMULATED_STORE_LATENCY_MS: '100', ROUTER_EMULATED_STORE_CONNECTIONS: '2' }));
  assert.equal(on.disableRecovery, true);
});

test('the emulated store holds at most its connections in flight, one latency each', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { storeRoundTrip } = routerTestOnly(loadConfig({ ROUTER_EMULATED_STORE_LATENCY_MS: '100', ROUTER_EMULATED_STORE_CONNECTIONS: '2' }));
  let done = 0;
  const calls = Array.from({ length: 5 }, () => storeRoundTrip().then(() => done++));
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return (async () => {
    await settle();
    t.mock.timers.tick(99);
    await settle();
    assert.equal(done, 0);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(done, 2, 'two connections: two round trips per 100 ms');
    t.mock.timers.tick(100);
    await settle();
    assert.equal(done, 4);
    t.mock.timers.tick(100);
    await Promise.all(calls);
    assert.equal(done, 5);
  })();
});

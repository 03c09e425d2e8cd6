import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestGateways } from '../test/support/gateway-harness.ts';
import { runRealtime } from './realtime.ts';

describe('loadtest realtime', () => {
  it('connects N clients over the gateways, pushes every message to every device once and in order, and reports the numbers', async () => {
    const h = await startTestGateways({}, 2);
    try {
      const r = await runRealtime({ clients: 24, users: 6, rate: 30, durationS: 1, deadlineS: 5, apiUrl: h.api.url, streamUrls: h.gateways.map((g) => g.url) });
      assert.equal(r.sent, 30);
      assert.equal(r.accepted, 30);
      assert.equal(r.expected, 30 * 4, 'each message to the 4 devices of its recipient');
      assert.equal(r.received, r.expected);
      assert.deepEqual([r.lost, r.duplicated, r.out_of_order], [0, 0, 0]);
      assert.ok(r.push_ms.p50 > 0 && r.push_ms.p99 >= r.push_ms.p50);
      assert.deepEqual(r.memory.map((m) => m.connections), [12, 12]);
    } finally {
      await h.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform } from '../test/support/embedded.ts';
import { prepareConversations, runOpenLoad, type LoadProgress, type LoadTarget } from './generator.ts';

describe('open-model generator against the embedded platform', () => {
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let target: LoadTarget;

  before(async () => {
    platform = await startTestPlatform();
    target = { apiUrl: platform.apiUrl, simUrl: platform.simUrl! };
  });
  after(() => platform.stop());

  test('sends at the planned rate and follows every accepted message to the provider', async () => {
    const prepared = await prepareConversations(target, 4, { conversationsPerSender: 2 });
    assert.equal(prepared.conversations.length, 4);
    assert.equal(new Set(prepared.conversations.map((c) => c.to)).size, 4, 'one WhatsApp number per recipient');

    const progress: LoadProgress[] = [];
    const r = await runOpenLoad({ target, prepared, rate: 15, durationMs: 3000, deliveryDeadlineMs: 15_000, onProgress: (p) => progress.push(p) });

    assert.ok(r.offered >= 43 && r.offered <= 45, `15/s for 3 s offers about 45, got ${r.offered}`);
    assert.equal(r.accepted, r.offered);
    assert.equal(r.answers['202'], r.accepted);
    assert.equal(r.accepted_ids.length, r.accepted);
    assert.equal(r.delivered, r.accepted, `every accepted message reached the simulator; lost ${JSON.stringify(r.lost_sample)}`);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.equal(r.out_of_order, 0);
    assert.ok(r.e2e_ms.p50 > 0 && r.e2e_ms.p99 >= r.e2e_ms.p50, `e2e latency is positive: ${JSON.stringify(r.e2e_ms)}`);
    assert.ok(r.http_ms.p50 > 0);
    assert.ok(r.timeline.length >= 3);
    assert.equal(r.timeline.reduce((a, p) => a + p.offered_per_s, 0), r.offered);
    assert.equal(r.timeline.reduce((a, p) => a + p.delivered_per_s, 0), r.delivered);
    assert.equal(r.timeline.reduce((a, p) => a + p.failed_per_s, 0), 0);
    assert.ok(progress.length >= 2, 'progress about once per second');
    assert.equal(progress.at(-1)!.accepted, r.accepted);
  });

  test('a function rate shapes the arrivals, and the in-flight cap drops the excess', async () => {
    const prepared = await prepareConversations(target, 2);
    // 0/s for the first second, then 20/s: about 20 arrivals, none in the first second.
    const r = await runOpenLoad({ target, prepared, rate: (ms) => (ms < 1000 ? 0 : 20), durationMs: 2000, maxInFlight: 1, deliveryDeadlineMs: 10_000 });
    assert.equal(r.timeline[0]!.offered_per_s, 0);
    assert.ok(r.offered >= 19 && r.offered <= 21, `got ${r.offered}`);
    assert.equal(r.accepted + r.failed + r.dropped_by_client, r.offered);
    assert.equal(r.timeline.reduce((a, p) => a + p.failed_per_s, 0), r.failed + r.dropped_by_client, 'every request not answered 202 is in the timeline, in the second it was offered');
    assert.equal(r.lost, 0);
  });
});

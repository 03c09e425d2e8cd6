import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RealtimeFeed } from './realtime-feed.ts';
import { startTestGateways, TestClient } from '../../test/support/gateway-harness.ts';

const metric = async (h: { registry: { getSingleMetricAsString(n: string): Promise<string> } }, name: string) =>
  Number((await h.registry.getSingleMetricAsString(name)).match(/ (\d+(?:\.\d+)?)$/m)?.[1] ?? 0);

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RealtimeFeed', () => {
  const fakeSub = () => {
    const calls: string[] = [];
    let finishResume: (() => void) | null = null;
    return {
      calls,
      finish: () => finishResume?.(),
      sub: {
        pause: () => void calls.push('pause'),
        resumeAtEnd: () => {
          calls.push('resume');
          return new Promise<void>((r) => (finishResume = r));
        },
      },
    };
  };

  it('pauses at once with nobody connected; connections joining together share one resume and are held until it is done', async () => {
    let connected = 0;
    const f = fakeSub();
    const feed = new RealtimeFeed('rt', 10_000, () => connected);
    feed.attach(f.sub);
    assert.deepEqual(f.calls, ['pause']);
    let held = 0;
    const holds = [feed.hold(), feed.hold()].map((p) => p.then((release) => (held++, release)));
    await new Promise((r) => setImmediate(r));
    assert.equal(held, 0, 'nobody registers before the topic is fetched again');
    f.finish();
    const releases = await Promise.all(holds);
    assert.deepEqual(f.calls, ['pause', 'resume']);
    connected = 2;
    for (const release of releases) release();
    feed.left();
    assert.deepEqual(f.calls, ['pause', 'resume'], 'not paused while someone is connected');
    feed.stop();
  });

  it('pauses again only after idleMs with nobody connected, and not while a connection is joining', async () => {
    let connected = 0;
    const f = fakeSub();
    const feed = new RealtimeFeed('rt', 30, () => connected);
    feed.attach(f.sub);
    const first = feed.hold();
    f.finish();
    (await first)(); // a connection that closed before it was registered
    const joining = await feed.hold(); // another one, between hold and registration
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(f.calls, ['pause', 'resume'], 'not paused under a joining connection');
    connected = 1;
    joining();
    connected = 0;
    feed.left();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(f.calls, ['pause', 'resume'], 'not before idleMs');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(f.calls, ['pause', 'resume', 'pause']);
    feed.stop();
  });
});

describe('gateway: nobody connected', () => {
  let h: Awaited<ReturnType<typeof startTestGateways>>;
  before(async () => {
    h = await startTestGateways({ idlePauseMs: 50 });
  });
  after(() => h.close());

  it('does not fetch the realtime topic, and a user connecting meanwhile misses nothing routed around the connection', async () => {
    const [a, b] = [await h.api.user('alice'), await h.api.user('bob')];
    const conversationId = await h.conversation(a, [b]);
    await waitFor(async () => (await metric(h.gateway, 'gateway_realtime_paused')) === 1, 5000, 'the topic paused');
    const skipped = await metric(h.gateway, 'gateway_realtime_records_skipped_total');
    for (let i = 1; i <= 5; i++) await h.send(a, conversationId, `while nobody is here ${i}`);
    await waitFor(async () => (await h.api.stores.messages.listMessages(conversationId, 0, 100)).length === 5, 5000, 'routing');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await metric(h.gateway, 'gateway_realtime_records_skipped_total'), skipped, 'no record handed to the gateway');

    // Bob connects (resuming from seq 0) while alice keeps sending: each seq once, in order.
    const sending = (async () => {
      for (let i = 6; i <= 25; i++) await h.send(a, conversationId, `around the connection ${i}`);
    })();
    const bob = new TestClient(h.gateway.url, { token: b.token, then: [{ type: 'resume', cursors: { [conversationId]: 0 } }] });
    await bob.next((f) => f.type === 'ready');
    assert.equal(await metric(h.gateway, 'gateway_realtime_paused'), 0);
    await sending;
    await waitFor(() => bob.messages(conversationId).length >= 25, 5000, 'seq 1..25');
    const id = await h.send(a, conversationId, 'live');
    await bob.next((f) => f.type === 'message.created' && f.message_id === id);
    assert.deepEqual(
      bob.messages(conversationId).map((f) => f.seq),
      Array.from({ length: 26 }, (_, i) => i + 1),
      'every seq once, in order',
    );

    await bob.close();
    await waitFor(async () => (await metric(h.gateway, 'gateway_realtime_paused')) === 1, 5000, 'paused again after the last connection');
  });
});

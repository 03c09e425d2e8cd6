import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordBytes } from '../../record-batches.ts';
import { KafkaBus } from './kafka-bus.ts';

type SendBatch = { topicMessages: { topic: string; messages: { key: string; value: string }[] }[] };

/** A KafkaBus whose producer only records the produce requests (no broker). */
function busWithFakeProducer(maxBatchBytes: number, fail?: (call: number) => boolean) {
  const bus = new KafkaBus({ brokers: ['127.0.0.1:9'], clientId: 'test', lingerMs: 20, maxBatchBytes });
  const requests: SendBatch[] = [];
  const producer = {
    sendBatch: async (req: SendBatch) => {
      requests.push(req);
      if (fail?.(requests.length)) throw new Error('MESSAGE_TOO_LARGE');
    },
  };
  (bus as unknown as { ensureProducer: () => Promise<unknown> }).ensureProducer = async () => producer;
  return { bus, requests };
}

const record = (key: string, kb: number) => ({ key, value: 'x'.repeat(kb * 1024) });

describe('KafkaBus produce requests', () => {
  it('sends the publishes gathered in one linger in requests under maxBatchBytes, in publish order', async () => {
    const { bus, requests } = busWithFakeProducer(512 * 1024);
    const publishes = [[record('a', 300)], [record('b', 300)], [record('a', 100), record('a', 100)], [record('c', 400)]];
    await Promise.all(publishes.map((p) => bus.publish('t', p)));
    assert.deepEqual(requests.map((r) => r.topicMessages[0]!.messages.length), [1, 3, 1]);
    for (const r of requests) assert.ok(r.topicMessages[0]!.messages.reduce((n, m) => n + recordBytes(m), 0) <= 512 * 1024);
    assert.deepEqual(requests.flatMap((r) => r.topicMessages[0]!.messages.map((m) => m.key)), ['a', 'b', 'a', 'a', 'c']);
  });

  it('refuses the later requests unsent when one fails, so no key overtakes itself', async () => {
    const { bus, requests } = busWithFakeProducer(512 * 1024, (call) => call === 1);
    const results = await Promise.allSettled([bus.publish('t', [record('a', 400)]), bus.publish('t', [record('a', 400)])]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(requests.length, 1);
  });

  it('sends publishes to several topics made in one linger in one produce request', async () => {
    const { bus, requests } = busWithFakeProducer(512 * 1024);
    await Promise.all([bus.publish('deliveries', [record('a', 1)]), bus.publish('realtime', [record('a', 1)]), bus.publish('deliveries', [record('b', 1)])]);
    assert.equal(requests.length, 1);
    assert.deepEqual(
      requests[0]!.topicMessages.map((t) => [t.topic, t.messages.map((m) => m.key)]),
      [
        ['deliveries', ['a', 'b']],
        ['realtime', ['a']],
      ],
    );
  });

  it('when a request of several topics is refused, sends each topic again alone: only the refused topic fails, and its later publishes go unsent', async () => {
    const bus = new KafkaBus({ brokers: ['127.0.0.1:9'], clientId: 'test', lingerMs: 20, maxBatchBytes: 512 * 1024 });
    const requests: string[][] = [];
    const producer = {
      sendBatch: async (req: SendBatch) => {
        requests.push(req.topicMessages.map((t) => t.topic));
        if (req.topicMessages.some((t) => t.topic === 'bad')) throw Object.assign(new Error('MESSAGE_TOO_LARGE'), { retriable: false });
      },
    };
    (bus as unknown as { ensureProducer: () => Promise<unknown> }).ensureProducer = async () => producer;
    const results = await Promise.allSettled([
      bus.publish('bad', [record('a', 300)]),
      bus.publish('good', [record('a', 100)]),
      bus.publish('bad', [record('a', 300)]),
      bus.publish('good', [record('b', 300)]),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(requests, [['bad', 'good'], ['bad'], ['good'], ['good']], 'the second publish to "bad" is never sent');
  });

  it('with maxInFlight 1, keeps one produce in flight per topic and sends what was published meanwhile in the next request', async () => {
    const bus = new KafkaBus({ brokers: ['127.0.0.1:9'], clientId: 'test', lingerMs: 1, maxInFlight: 1 });
    const requests: SendBatch[] = [];
    let inFlight = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const producer = {
      sendBatch: async (req: SendBatch) => {
        requests.push(req);
        most = Math.max(most, ++inFlight);
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
      },
    };
    (bus as unknown as { ensureProducer: () => Promise<unknown> }).ensureProducer = async () => producer;
    const first = bus.publish('t', [record('a', 1)]);
    while (requests.length === 0) await new Promise((r) => setTimeout(r, 1));
    const later = Array.from({ length: 5 }, (_, i) => bus.publish('t', [record(`k${i}`, 1)]));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(requests.length, 1, 'nothing else is sent while the first produce is in flight');
    gates.shift()!();
    await first;
    while (requests.length < 2) await new Promise((r) => setTimeout(r, 1));
    gates.shift()!();
    await Promise.all(later);
    assert.equal(most, 1);
    assert.deepEqual(requests[1]!.topicMessages[0]!.messages.map((m) => m.key), ['k0', 'k1', 'k2', 'k3', 'k4']);
  });
});

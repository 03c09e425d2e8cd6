import { describe, it, mock, afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { GuardedConnector, isOpenBreaker } from './guarded-connector.ts';
import { ProviderError } from './provider-error.ts';
import { createConnectorMetrics } from './metrics.ts';
import { createLogger } from '../core/logger.ts';
import type { ChannelConnector } from './channel-connector.ts';

function fakeProvider() {
  const calls: string[] = [];
  let mode: 'down' | 'up' | 'reject' = 'up';
  const inner: ChannelConnector = {
    channel: 'whatsapp',
    async sendText(to) {
      calls.push(to);
      if (mode === 'down') throw new ProviderError({ channel: 'whatsapp', message: 'unavailable', httpStatus: 503, providerCode: 2, retriable: true });
      if (mode === 'reject') throw new ProviderError({ channel: 'whatsapp', message: 'undeliverable', httpStatus: 400, providerCode: 131026, retriable: false });
      return { provider_message_id: `wamid.${calls.length}` };
    },
    async sendFile() {
      throw new Error('unused');
    },
    verifySubscription: () => ({ status: 403, body: '' }),
    parseWebhook: () => ({ statuses: [], inbound: [], refused: [] }),
  };
  return { inner, calls, set: (m: typeof mode) => (mode = m) };
}

describe('GuardedConnector circuit breaker', () => {
  let registry: Registry;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    registry = new Registry();
  });
  afterEach(() => mock.timers.reset());

  const guard = (inner: ChannelConnector) => {
    const metrics = createConnectorMetrics(registry);
    return {
      metrics,
      g: new GuardedConnector(inner, {
        breaker: { timeoutMs: 1000, errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 5000, rollingCountTimeoutMs: 10000 },
        pacing: { textPerSecond: Infinity, mediaPerSecond: Infinity },
        senderKey: 'n1',
        clock: { now: () => 0 },
        metrics,
        logger: createLogger('test', 'silent'),
      }),
    };
  };
  const state = async (r: Registry) => (await r.getSingleMetric('circuit_breaker_state')!.get()).values.find((v) => v.labels.operation === 'send_text')!.value;

  it('opens after the volume threshold of failures, stops calling the provider, probes once after the reset timeout, closes on success', async () => {
    const p = fakeProvider();
    const { g } = guard(p.inner);
    p.set('down');
    for (let i = 0; i < 5; i++) await assert.rejects(g.sendText(`+55${i}`, 'x'), ProviderError);
    assert.equal(p.calls.length, 5);
    assert.equal(await state(registry), 1, 'open');

    for (let i = 0; i < 20; i++) await assert.rejects(g.sendText('+55', 'x'), (e) => isOpenBreaker(e));
    assert.equal(p.calls.length, 5, 'no provider call while open');

    p.set('up');
    mock.timers.tick(5000);
    assert.equal(await state(registry), 2, 'half-open after the reset timeout');
    const probe = g.sendText('+55probe', 'x');
    await assert.rejects(g.sendText('+55other', 'x'), (e) => isOpenBreaker(e), 'only one probe at a time');
    assert.equal((await probe).provider_message_id, 'wamid.6');
    assert.equal(await state(registry), 0, 'closed after a good probe');
    assert.equal(p.calls.length, 6);
    const transitions = (await registry.getSingleMetric('circuit_breaker_transitions_total')!.get()).values.map((v) => `${v.labels.from}->${v.labels.to}`);
    assert.deepEqual(transitions.sort(), ['closed->open', 'halfOpen->closed', 'open->halfOpen']);
    g.shutdown();
  });

  it('opens after volumeThreshold failures in a row even after a busy window of successes', async () => {
    const p = fakeProvider();
    const { g } = guard(p.inner);
    for (let i = 0; i < 100; i++) await g.sendText('+55', 'ok');
    p.set('down');
    for (let i = 0; i < 5; i++) await assert.rejects(g.sendText('+55', 'x'), ProviderError);
    assert.equal(await state(registry), 1, 'open after 5 consecutive failures although the window error rate is 5 %');
    await assert.rejects(g.sendText('+55', 'x'), (e) => isOpenBreaker(e));
    g.shutdown();
  });

  it('does not open on permanent provider errors (the recipient is the problem, not the provider)', async () => {
    const p = fakeProvider();
    const { g } = guard(p.inner);
    p.set('reject');
    for (let i = 0; i < 20; i++) await assert.rejects(g.sendText('+55', 'x'), (e) => e instanceof ProviderError && !e.retriable);
    assert.equal(await state(registry), 0);
    assert.equal(p.calls.length, 20);
    g.shutdown();
  });
});

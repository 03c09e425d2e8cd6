import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../core/ports/stores.ts';
import { createLogger } from '../core/logger.ts';
import { isoAt } from '../core/ports/clock.ts';
import { createWebhook } from './create-webhook.ts';
import { retryDelay, startWebhookDispatcher, type WebhookDispatcherOptions } from './dispatcher.ts';
import type { WebhookEventType } from './events.ts';
import { startTestReceiver } from './test-receiver.ts';
import { verifyWebhook } from './verify.ts';

const logger = createLogger('webhooks-test', 'silent');

describe('webhook dispatcher', () => {
  let stores: Stores;
  let now: number;
  const clock = { now: () => now };
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(() => {
    stores = openSqliteStores(':memory:');
    now = Date.parse('2025-03-01T12:00:00Z');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await stores.close();
  });

  async function receiver(statuses: number[], options: { delayMs?: number } = {}) {
    const r = await startTestReceiver(statuses, options);
    cleanups.push(() => r.close());
    return r;
  }

  function dispatcher(options: WebhookDispatcherOptions = {}, registry = new Registry()) {
    // The interval is long: the tests drive every pass with tick().
    const d = startWebhookDispatcher(
      { webhooks: stores.webhooks, clock, logger, registry },
      { allowPrivateTargets: true, intervalMs: 3_600_000, timeoutMs: 2000, random: () => 1, ...options },
    );
    cleanups.push(() => d.stop());
    return { ...d, registry };
  }

  /** Alice sends Bob a message on WhatsApp; returns the ids. */
  async function sentMessage(sender = randomUUID()) {
    const bob = randomUUID();
    const conversation_id = randomUUID();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [sender, bob], name: null, metadata: null, created_at: isoAt(now) });
    const message_id = randomUUID();
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: sender, payload: { type: 'text', text: 'hi' }, channels: ['whatsapp'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: isoAt(now),
    });
    const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address: '+5511999990001' }], isoAt(now));
    return { sender, bob, message_id, conversation_id, delivery_id: routed.deliveries[0]!.delivery_id };
  }

  async function subscribe(owner: string, url: string, events: WebhookEventType[]) {
    return createWebhook({ webhooks: stores.webhooks, clock }, owner, { url, events }, { allowPrivateTargets: true });
  }

  const count = async (registry: Registry, result: string) =>
    (await registry.getSingleMetric('webhook_deliveries_total')!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  it('retries a receiver that answers 500 twice: it gets the event three times, same id, valid signature', async () => {
    const r = await receiver([500, 500, 200]);
    const alice = randomUUID();
    const webhook = await subscribe(alice, r.url, ['message.delivered']);
    const m = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'DELIVERED', at: isoAt(now + 5), source: 'provider' });
    const d = dispatcher();
    const start = now;

    await d.tick();
    assert.equal(r.received.length, 1, 'the first attempt goes out at once');
    await d.tick();
    now += 999;
    await d.tick();
    assert.equal(r.received.length, 1, 'no retry before the first backoff (1 s) is over');
    now += 1;
    await d.tick();
    assert.equal(r.received.length, 2, 'second attempt after 1 s');
    now += 1999;
    await d.tick();
    assert.equal(r.received.length, 2);
    now += 1;
    await d.tick();
    assert.equal(r.received.length, 3, 'third attempt 2 s later');
    now += 3_600_000;
    await d.tick();
    assert.equal(r.received.length, 3, 'a 200 ends the retries');

    const ids = r.received.map((c) => c.headers['chat4all-webhook-id']);
    assert.equal(new Set(ids).size, 1, 'every attempt carries the same event id');
    assert.equal(new Set(r.received.map((c) => c.rawBody)).size, 1, 'and the same body');
    const sentAt = [start, start + 1000, start + 3000];
    r.received.forEach((c, i) => {
      // Each attempt is signed with the time it was sent.
      assert.equal(c.headers['chat4all-webhook-timestamp'], String(Math.floor(sentAt[i]! / 1000)));
      const v = verifyWebhook(c.rawBody, c.headers, webhook.secret, { now: sentAt[i]! + 2000 });
      assert.equal(v.valid, true, JSON.stringify(v));
      assert.equal(verifyWebhook(c.rawBody.replace('DELIVERED', 'READ'), c.headers, webhook.secret, { now: sentAt[i]! }).valid, false, 'tampered');
    });
    const body = r.received[0]!.body;
    assert.equal(body.event_id, ids[0]);
    assert.equal(body.type, 'message.delivered');
    assert.equal(body.message_id, m.message_id);
    assert.equal(body.status, 'DELIVERED');
    assert.equal(body.recipient_id, m.bob);
    assert.equal(body.channel, 'whatsapp');
    assert.equal(body.occurred_at, isoAt(Date.parse('2025-03-01T12:00:00Z') + 5));

    const attempts = await stores.webhooks.listWebhookAttempts(webhook.webhook_id, 10);
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status_code, a.result]), [[3, 200, 'success'], [2, 500, 'retry'], [1, 500, 'retry']]);
    assert.equal(await count(d.registry, 'retry'), 2);
    assert.equal(await count(d.registry, 'success'), 1);
    assert.equal(await stores.webhooks.countPendingWebhookEvents(), 0);
  });

  it('gives up after the retry window and records the event failed', async () => {
    const r = await receiver([503]);
    const alice = randomUUID();
    const webhook = await subscribe(alice, r.url, ['message.failed']);
    const m = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'FAILED', at: isoAt(now), error: { code: 'provider_down', message: 'gone' }, source: 'connector' });
    const d = dispatcher({ retryHours: 1 });
    for (let i = 0; i < 40; i++) {
      await d.tick();
      now += 5 * 60_000;
    }
    assert.equal(r.received[0]!.body.type, 'message.failed');
    assert.deepEqual(r.received[0]!.body.error, { code: 'provider_down', message: 'gone' });
    const attempts = await stores.webhooks.listWebhookAttempts(webhook.webhook_id, 100);
    assert.equal(attempts[0]!.result, 'failed', 'the last attempt gives up');
    assert.ok(attempts.slice(1).every((a) => a.result === 'retry'));
    assert.equal(attempts.length, r.received.length);
    const window = Date.parse(attempts[0]!.at) - Date.parse(attempts.at(-1)!.at);
    assert.ok(window >= 3_600_000, `tried for the whole hour (${window} ms)`);
    assert.equal(await count(d.registry, 'failed'), 1);
    assert.equal(await stores.webhooks.countPendingWebhookEvents(), 0);
  });

  it('sends the events of one message in order, holding the next while the previous is retried', async () => {
    const r = await receiver([500, 200]);
    const alice = randomUUID();
    await subscribe(alice, r.url, ['message.delivered', 'message.read']);
    const m = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'READ', at: isoAt(now + 1), source: 'provider' });
    const d = dispatcher();
    await d.tick();
    assert.deepEqual(r.received.map((c) => c.body.type), ['message.delivered'], 'read waits for delivered');
    now += 1000;
    await d.tick();
    assert.deepEqual(r.received.map((c) => c.body.type), ['message.delivered', 'message.delivered', 'message.read']);
  });

  it('sends an event once when two dispatchers run at once, and only events the webhook asked for', async () => {
    const r = await receiver([200]);
    const alice = randomUUID();
    await subscribe(alice, r.url, ['message.read']);
    const m = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'READ', at: isoAt(now), source: 'provider' });
    const one = dispatcher();
    const two = dispatcher();
    await Promise.all([one.tick(), two.tick(), one.tick(), two.tick()]);
    assert.deepEqual(r.received.map((c) => c.body.type), ['message.read']);
  });

  it('gives a webhook the events after its creation only, and none for messages others sent', async () => {
    const r = await receiver([200]);
    const alice = randomUUID();
    const early = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: early.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    await subscribe(alice, r.url, ['message.delivered']);
    const other = await sentMessage();
    await stores.deliveries.applyStatus({ delivery_id: other.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    const later = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: later.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    await dispatcher().tick();
    assert.deepEqual(r.received.map((c) => c.body.message_id), [later.message_id]);
  });

  it('refuses at send time a target the policy does not allow', async () => {
    const r = await receiver([200]);
    const alice = randomUUID();
    const webhook = await subscribe(alice, r.url, ['message.delivered']);
    const m = await sentMessage(alice);
    await stores.deliveries.applyStatus({ delivery_id: m.delivery_id, status: 'DELIVERED', at: isoAt(now), source: 'provider' });
    await dispatcher({ allowPrivateTargets: false }).tick();
    assert.equal(r.received.length, 0);
    const [attempt] = await stores.webhooks.listWebhookAttempts(webhook.webhook_id, 1);
    assert.equal(attempt!.status_code, null);
    assert.match(attempt!.error ?? '', /loopback/);
  });

  it('does not hold a fast subscriber up behind a slow one: each subscriber gets its share of the slots', async () => {
    const slow = await receiver([200], { delayMs: 1500 });
    const fast = await receiver([200]);
    const [slowOwner, fastOwner] = [randomUUID(), randomUUID()];
    await subscribe(slowOwner, slow.url, ['message.sent']);
    await subscribe(fastOwner, fast.url, ['message.sent']);
    // The slow subscriber's events are older, so they come first in the due order.
    for (let i = 0; i < 6; i++) await sentMessage(slowOwner);
    for (let i = 0; i < 2; i++) await sentMessage(fastOwner);
    const d = dispatcher({ concurrency: 4, perSubscriberConcurrency: 2, timeoutMs: 5000 });

    const started = Date.now();
    const pass = d.tick();
    while (fast.received.length < 2 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
    const fastMs = Date.now() - started;
    assert.equal(fast.received.length, 2);
    assert.ok(fastMs < 1000, `the fast receiver had its events after ${fastMs} ms, behind the slow one's 1500 ms answers`);
    assert.ok(slow.received.length <= 2, `the slow subscriber had at most its share in flight (${slow.received.length})`);
    await slow.close(); // the rest fail fast and are retried later; the pass ends
    await pass;
  });

  it('backs off exponentially with jitter, capped at the maximum', () => {
    const o = { baseDelayMs: 1000, maxDelayMs: 3_600_000 };
    assert.equal(retryDelay(1, o, () => 1), 1000);
    assert.equal(retryDelay(2, o, () => 1), 2000);
    assert.equal(retryDelay(3, o, () => 0), 2000);
    assert.equal(retryDelay(30, o, () => 1), 3_600_000);
  });
});

import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { Webhook, WebhookAttempt, WebhookEvent, WebhookStore } from '../core/ports/webhook-store.ts';
import { eventsFor, receivedEventsFor } from './events.ts';
import { createWebhookMetrics } from './metrics.ts';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from './settings.ts';
import { httpTransport, type WebhookTransport } from './transport.ts';
import { signWebhook, WEBHOOK_HEADERS } from './verify.ts';
import { startPeriodic } from '../core/periodic.ts';

export interface WebhookDispatcherDeps {
  webhooks: WebhookStore;
  clock: Clock;
  logger: Logger;
  /** Where `webhook_*` metrics are declared (one dispatcher per registry). */
  registry: Registry;
  /** How callbacks are sent. @default httpTransport({ allowPrivateTargets }) */
  transport?: WebhookTransport;
}

export interface WebhookDispatcherOptions extends Partial<WebhookSettings> {
  /** Pause between passes. @default 1000 */
  intervalMs?: number;
  /** Most callbacks in flight at once. @default 8 */
  concurrency?: number;
  /** History entries looked at per store read. @default 500 */
  batch?: number;
  /** First retry delay; each retry doubles it. @default 1000 */
  baseDelayMs?: number;
  /** Longest retry delay. @default 3600000 (1 h) */
  maxDelayMs?: number;
  /** Delivered and failed events (with their attempts) are deleted this long after creation. @default 168 (7 days) */
  retentionHours?: number;
  /** Random numbers in [0, 1) for the retry jitter (tests pass a constant). @default Math.random */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 = the retry after the first attempt): exponential
 * from `baseDelayMs`, capped at `maxDelayMs`, with "equal jitter" (between half and all of it),
 * so receivers that fail together are not all retried at the same instant.
 */
export function retryDelay(attempt: number, o: { baseDelayMs: number; maxDelayMs: number }, random: () => number): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const LEASE_MARGIN_MS = 10_000;
/** Most store reads per pass in step 1, so one pass stays bounded under a backlog. */
const MAX_ROUNDS = 10;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * The webhook dispatcher. The store's status history is an ordered log of every delivery
 * transition; each pass (1) turns the entries after the durable cursor into events for the
 * senders' webhooks (the outbox `webhook_events`, with stable ids, stored together with the new
 * cursor), then (2) leases the due events and POSTs them, signed, at most `concurrency` at a time
 * and at most `perSubscriberConcurrency` for one subscriber, retrying non-2xx answers and errors
 * with backoff until `retryHours` after the event was made. Sends run on their own: a pass does not
 * wait for them, and each finished send claims the next due events at once, leaving out the
 * webhooks of subscribers that have their share in flight — so a subscriber whose endpoints answer
 * slowly waits for its own slots, never the others'.
 * Several dispatchers may run on one store: the lease keeps two from sending one event at once,
 * and delivery stays at-least-once (a dispatcher that dies mid-send leaves the event to be sent
 * again once its lease ends).
 */
export function startWebhookDispatcher(deps: WebhookDispatcherDeps, options: WebhookDispatcherOptions = {}) {
  const o = {
    ...DEFAULT_WEBHOOK_SETTINGS,
    intervalMs: 1000,
    concurrency: 8,
    batch: 500,
    baseDelayMs: 1000,
    maxDelayMs: 3_600_000,
    retentionHours: 168,
    random: Math.random,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as Required<WebhookDispatcherOptions>;
  const metrics = createWebhookMetrics(deps.registry);
  const transport = deps.transport ?? httpTransport({ allowPrivateTargets: o.allowPrivateTargets });
  const log = deps.logger.child({ component: 'webhook-dispatcher' });
  let lastPrune = 0;

  /** Step 1: history entries after the cursor become events. */
  async function enqueue() {
    let cursor = await deps.webhooks.webhookCursor();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { entries, lastId } = await deps.webhooks.historyForWebhooks(cursor, o.batch);
      if (lastId === cursor) return;
      // Read the webhooks after the entries: a webhook created meanwhile has `start_after` at or
      // beyond every entry read, so none of its events can be missed.
      // Senders get their messages' status events; recipients get `message.received`.
      const byOwner = new Map<string, Webhook[]>();
      const owners = new Set(entries.flatMap((e) => (e.recipient_id === null ? [e.sender_id] : [e.sender_id, e.recipient_id])));
      for (const owner of owners) byOwner.set(owner, await deps.webhooks.listWebhooks(owner));
      const now = deps.clock.now();
      const schedule = { created_at: isoAt(now), now, deadline: now + o.retryHours * 3_600_000 };
      const events = entries.flatMap((e) => [
        ...eventsFor(e, byOwner.get(e.sender_id) ?? [], schedule),
        ...(e.recipient_id === null ? [] : receivedEventsFor(e, byOwner.get(e.recipient_id) ?? [], schedule)),
      ]);
      await deps.webhooks.enqueueWebhookEvents(events, lastId);
      cursor = lastId;
    }
  }

  /** Sends one event once and records the attempt. */
  async function send(event: WebhookEvent, webhook: Webhook) {
    const startedAt = deps.clock.now();
    const timestamp = Math.floor(startedAt / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Chat4All-Webhooks/1',
      [WEBHOOK_HEADERS.id]: event.event_id,
      [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      [WEBHOOK_HEADERS.signature]: signWebhook(webhook.secret, timestamp, event.body),
    };
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      statusCode = (await transport({ url: webhook.url, headers, body: event.body, timeoutMs: o.timeoutMs })).status;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const seconds = (performance.now() - started) / 1000;
    const now = deps.clock.now();
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
    if (!success && error === null) error = `HTTP ${statusCode}`;
    let result: WebhookAttempt['result'];
    let next: { status: 'pending' | 'delivered' | 'failed'; next_attempt_at: number };
    if (success) {
      result = 'success';
      next = { status: 'delivered', next_attempt_at: now };
    } else if (now >= event.deadline) {
      result = 'failed';
      next = { status: 'failed', next_attempt_at: now };
    } else {
      result = 'retry';
      // The last retry happens at the deadline itself, so every event is tried for the whole window.
      next = { status: 'pending', next_attempt_at: Math.min(event.deadline, now + retryDelay(event.attempts + 1, o, o.random)) };
    }
    await deps.webhooks.recordWebhookAttempt(
      {
        event_id: event.event_id,
        webhook_id: event.webhook_id,
        at: isoAt(startedAt),
        status_code: statusCode,
        error: success ? null : error,
        duration_ms: Math.round(seconds * 1000),
        result,
      },
      next,
    );
    metrics.deliveries.inc({ result });
    metrics.duration.observe(seconds);
    const fields = { event_id: event.event_id, webhook_id: event.webhook_id, message_id: event.message_id, status_code: statusCode, attempt: event.attempts + 1 };
    if (result === 'failed') log.warn({ ...fields, error }, 'webhook event given up after its retry window');
    else if (result === 'retry') log.info({ ...fields, error, next_attempt_at: isoAt(next.next_attempt_at) }, 'webhook delivery failed; will retry');
  }

  // Step 2's bookkeeping: sends under way in all and per subscriber, and whose each webhook is.
  let running = 0;
  const runningFor = new Map<string, number>();
  const ownerOf = new Map<string, string>();
  /** Events claimed while their subscriber had its share in flight (its owner was not known yet). */
  const waiting = new Map<string, { event: WebhookEvent; webhook: Webhook }[]>();
  const sends = new Set<Promise<void>>();
  let claiming: Promise<void> = Promise.resolve();
  let stopping = false;

  const atShare = (owner: string) => (runningFor.get(owner) ?? 0) >= o.perSubscriberConcurrency;

  /** Starts one send in the background; when it ends, the subscriber's next waiting event goes, then a claim. */
  function startSend(event: WebhookEvent, webhook: Webhook) {
    running++;
    runningFor.set(webhook.owner_id, (runningFor.get(webhook.owner_id) ?? 0) + 1);
    const done = send(event, webhook)
      .catch((err: unknown) => log.warn({ err, event_id: event.event_id }, 'webhook attempt could not be recorded; its lease will end'))
      .finally(() => {
        running--;
        const left = (runningFor.get(webhook.owner_id) ?? 1) - 1;
        if (left === 0) runningFor.delete(webhook.owner_id);
        else runningFor.set(webhook.owner_id, left);
        sends.delete(done);
        const next = waiting.get(webhook.owner_id)?.shift();
        if (next) startSend(next.event, next.webhook);
        if (waiting.get(webhook.owner_id)?.length === 0) waiting.delete(webhook.owner_id);
        if (!stopping) void fill().catch((err: unknown) => log.warn({ err }, 'webhook claim failed; the next pass tries again'));
      });
    sends.add(done);
  }

  /** Leases as many due events as there are free slots, leaving out subscribers at their share; returns how many. Claims never overlap. */
  function fill(): Promise<number> {
    const run = claiming.then(async () => {
      const free = o.concurrency - running;
      if (free <= 0) return 0;
      const skipWebhooks = [...ownerOf].filter(([, owner]) => atShare(owner)).map(([webhookId]) => webhookId);
      const now = deps.clock.now();
      const claimed = await deps.webhooks.claimWebhookEvents(now, now + o.timeoutMs + LEASE_MARGIN_MS, free, {
        skipWebhooks,
        perWebhook: o.perSubscriberConcurrency,
      });
      for (const event of claimed) {
        const webhook = await deps.webhooks.getWebhook(event.webhook_id);
        // Deleted meanwhile: its events are deleted with it.
        if (!webhook) continue;
        ownerOf.set(webhook.webhook_id, webhook.owner_id);
        if (atShare(webhook.owner_id)) waiting.set(webhook.owner_id, [...(waiting.get(webhook.owner_id) ?? []), { event, webhook }]);
        else startSend(event, webhook);
      }
      return claimed.length;
    });
    claiming = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Waits until no send is under way and nothing more is due (tests: `tick()` returns then). */
  async function settled() {
    for (;;) {
      while (sends.size > 0) await Promise.all([...sends]);
      await claiming;
      if (sends.size === 0 && (await fill()) === 0 && sends.size === 0) return;
    }
  }

  async function pass() {
    await enqueue();
    await fill();
    metrics.pending.set(await deps.webhooks.countPendingWebhookEvents());
    const now = deps.clock.now();
    if (now - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now;
      await deps.webhooks.pruneWebhookEvents(isoAt(now - o.retentionHours * 3_600_000));
    }
  }

  // Passes never overlap: a tick() during a timed pass runs after it.
  const loop = startPeriodic({ intervalMs: o.intervalMs, pass, onError: (err) => log.warn({ err }, 'webhook dispatcher pass failed; will try again') });
  return {
    /** Runs one pass now and waits until its sends, and the sends they made due, are done (tests use this instead of waiting). */
    async tick() {
      await loop.tick();
      await settled();
    },
    /** Stops the timer and waits for the pass and the sends under way. */
    async stop() {
      stopping = true;
      await loop.stop();
      await claiming;
      while (sends.size > 0) await Promise.all([...sends]);
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof startWebhookDispatcher>;

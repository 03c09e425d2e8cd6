import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Channel } from './channel.ts';
import { signWebhookBody } from './signature.ts';
import type { WebhookResult } from './sim-metrics.ts';
import type { SimStats } from './sim-stats.ts';
import { mergeWebhooks } from './webhook-merge.ts';
import { WebhookPoster } from './webhook-poster.ts';

/** How the simulator retries a webhook the receiver did not take, like Meta does. */
export interface WebhookRetryPolicy {
  /** Wait before the first retry; doubles on every further retry. @default 200 */
  baseDelayMs: number;
  /** Attempts per event, the first one included. @default 8 */
  maxAttempts: number;
  /** Per-attempt timeout; a slower receiver counts as failed. @default 5000 */
  requestTimeoutMs: number;
}

/**
 * How events due at about the same time share a POST, as Meta's do under load: at most
 * `maxInFlight` POSTs of a channel are on their first attempt at once; events that come due
 * meanwhile wait and leave together, up to `maxEvents` in one body. At a low rate every event
 * still leaves alone and at once; the busier the receiver, the larger the bodies.
 */
export interface WebhookBatching {
  /** Most events in one POST; 1 sends every event on its own. @default 100 */
  maxEvents: number;
  /** POSTs of one channel on their first attempt at once (retries wait outside this cap). @default 16 */
  maxInFlight: number;
  /**
   * Events come due on a grid of this many ms (each at most this much after its delay): those due
   * in the same slot share one timer and leave in one POST, as Meta's pile up, instead of a timer
   * and a POST each. 0 gives every event its own timer. @default 10
   */
  slotMs?: number;
}

/** Events due in one slot: they wake together. */
interface Slot {
  wake: Promise<void>;
  fire(): void;
}

/** One webhook event to emit `delayMs` after it was dispatched. */
export interface WebhookEvent {
  delayMs: number;
  payload: unknown;
}

/** What {@link WebhookDispatcher} needs. */
export interface WebhookDispatcherDeps {
  appSecret: string;
  /** Read at every attempt, so a URL changed through the admin API applies to retries too. */
  resolveUrl: (channel: Channel) => string | undefined;
  retry: WebhookRetryPolicy;
  batching: WebhookBatching;
  stats: SimStats;
  logger: Logger;
}

/** An event whose time came, waiting for a POST. */
interface Queued {
  payload: unknown;
  signal: AbortSignal;
  settle(result: WebhookResult | Error): void;
}

/** The events of one channel waiting for a POST, and its POSTs on their first attempt. */
interface ChannelQueue {
  items: Queued[];
  inFlight: number;
  pumpScheduled: boolean;
}

/**
 * Sends signed webhook POSTs after a delay, several events in one body when they pile up
 * ({@link WebhookBatching}), retrying a failed POST whole with exponential backoff.
 */
export class WebhookDispatcher {
  private controller = listenedController();
  private readonly queues = new Map<Channel, ChannelQueue>();
  private readonly tasks = new Set<Promise<void>>();
  /** Slots with events waiting, by their due time (`performance.now()` ms); see `WebhookBatching.slotMs`. */
  private readonly slots = new Map<number, Slot>();
  private closed = false;
  /** node:http with keep-alive: a fraction of the built-in fetch's CPU per webhook. */
  private readonly poster = new WebhookPoster();

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  /**
   * Emits `events` of one channel. `sequential` sends each only after the previous one
   * finished (delivered or given up) and its own delay passed, so the receiver sees them in
   * order; otherwise each event goes on its own timer and may overtake the others.
   */
  dispatch(channel: Channel, events: WebhookEvent[], sequential: boolean): void {
    if (this.closed || events.length === 0) return;
    this.deps.stats.webhookScheduled(channel, events.length);
    const signal = this.controller.signal;
    const start = performance.now();
    if (sequential) {
      this.track(async () => {
        for (const event of events) await this.runEvent(channel, event, start, signal);
      });
    } else {
      for (const event of events) this.track(() => this.runEvent(channel, event, start, signal));
    }
  }

  /** Drops every scheduled event and aborts deliveries in flight (used by reset). */
  cancelAll(): void {
    this.controller.abort();
    this.dropQueued(this.controller.signal);
    this.controller = listenedController();
    this.wakeAll();
  }

  /** Cancels everything, refuses new events, and waits until no timer or request is left. */
  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort();
    this.dropQueued(this.controller.signal);
    this.wakeAll();
    await Promise.allSettled([...this.tasks]);
    this.poster.close();
  }

  private track(task: () => Promise<void>): void {
    const running = task().finally(() => this.tasks.delete(running));
    this.tasks.add(running);
  }

  private async runEvent(channel: Channel, event: WebhookEvent, start: number, signal: AbortSignal): Promise<void> {
    let result: WebhookResult | undefined;
    try {
      await this.until(start + event.delayMs, signal);
      if (signal.aborted) return;
      result = await this.enqueue(channel, event.payload, signal);
    } catch (err) {
      if (!signal.aborted) this.deps.logger.error({ err, channel }, 'webhook delivery crashed');
    } finally {
      this.deps.stats.webhookDone(channel, result);
    }
  }

  /**
   * Resolves at `due` (a `performance.now()` time) rounded up to the slot grid, together with every
   * other event of its slot; at once when cancelled (the caller checks its signal).
   */
  private until(due: number, signal: AbortSignal): Promise<void> {
    // The events after a cancelled one of a sequential dispatch must not take a new timer.
    if (signal.aborted) return Promise.resolve();
    const slotMs = this.deps.batching.slotMs ?? 10;
    if (slotMs <= 0) return sleep(Math.max(0, due - performance.now()), undefined, { signal });
    const at = Math.ceil(due / slotMs) * slotMs;
    let slot = this.slots.get(at);
    if (!slot) {
      let fire!: () => void;
      const wake = new Promise<void>((resolve) => (fire = resolve));
      const timer = setTimeout(() => {
        this.slots.delete(at);
        fire();
      }, Math.max(0, at - performance.now()));
      slot = {
        wake,
        fire: () => {
          clearTimeout(timer);
          fire();
        },
      };
      this.slots.set(at, slot);
    }
    return slot.wake;
  }

  /** Fails every event waiting for a POST with the reason of `signal` (cancelled). */
  private dropQueued(signal: AbortSignal): void {
    const reason = signal.reason instanceof Error ? signal.reason : new Error('cancelled');
    for (const q of this.queues.values()) for (const item of q.items.splice(0)) item.settle(reason);
  }

  /** Wakes every waiting event now (cancelled: their signal is aborted). */
  private wakeAll(): void {
    for (const slot of this.slots.values()) slot.fire();
    this.slots.clear();
  }

  /** Resolves with how the POST that carried `payload` ended; rejects when cancelled. */
  private enqueue(channel: Channel, payload: unknown, signal: AbortSignal): Promise<WebhookResult> {
    let queue = this.queues.get(channel);
    if (!queue) this.queues.set(channel, (queue = { items: [], inFlight: 0, pumpScheduled: false }));
    const q = queue;
    return new Promise<WebhookResult>((resolve, reject) => {
      // No abort listener per event: cancelling drops every queued event at once (`dropQueued`).
      const item: Queued = {
        payload,
        signal,
        settle: (result) => {
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      q.items.push(item);
      if (!q.pumpScheduled) {
        q.pumpScheduled = true;
        // Events whose timers fire in the same turn of the loop go in one body.
        setImmediate(() => {
          q.pumpScheduled = false;
          this.pump(channel, q);
        });
      }
    });
  }

  /** Starts POSTs while the channel has room, each with up to `maxEvents` waiting events. */
  private pump(channel: Channel, q: ChannelQueue): void {
    const { maxEvents, maxInFlight } = this.deps.batching;
    while (q.inFlight < Math.max(1, maxInFlight) && q.items.length > 0) {
      const batch = q.items.splice(0, Math.max(1, maxEvents));
      const body = JSON.stringify(mergeWebhooks(channel, batch.map((b) => b.payload)));
      q.inFlight += 1;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        q.inFlight -= 1;
        if (q.items.length > 0) this.pump(channel, q);
      };
      // Every event of a batch shares the signal of the current controller (cancelled ones left the queue).
      this.deliver(channel, body, batch[0]!.signal, release).then(
        (result) => {
          release();
          for (const b of batch) b.settle(result);
        },
        (err: unknown) => {
          release();
          for (const b of batch) b.settle(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }
  }

  /** POSTs `body` until a 2xx or the last attempt; `firstAttemptDone` frees the batch's slot before any backoff. */
  private async deliver(channel: Channel, body: string, signal: AbortSignal, firstAttemptDone: () => void): Promise<WebhookResult> {
    const { retry, logger, stats } = this.deps;
    const signature = signWebhookBody(body, this.deps.appSecret);
    for (let attempt = 1; attempt <= retry.maxAttempts; attempt += 1) {
      const url = this.deps.resolveUrl(channel);
      if (url === undefined) {
        logger.debug({ channel }, 'no webhook URL configured; event dropped');
        return 'skipped';
      }
      stats.webhookAttempt(channel);
      try {
        const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signature, 'user-agent': 'facebookexternalua' };
        const res = await this.poster.post(url, headers, body, retry.requestTimeoutMs, signal);
        if (res.ok) return 'sent';
        logger.warn({ channel, url, status: res.status, attempt }, 'webhook receiver answered non-2xx');
      } catch (err) {
        if (signal.aborted) throw err;
        logger.warn({ channel, url, attempt, err: (err as Error).message }, 'webhook POST failed');
      }
      firstAttemptDone();
      if (attempt < retry.maxAttempts) await sleep(retry.baseDelayMs * 2 ** (attempt - 1), undefined, { signal });
    }
    logger.error({ channel, attempts: retry.maxAttempts }, 'webhook given up after every retry');
    return 'failed';
  }
}

/** A controller whose signal every scheduled event listens to: thousands at a time under load, not a leak. */
function listenedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Channel } from './channel.ts';
import { signWebhookBody } from './signature.ts';
import { keepAliveFetch } from '../lib/keep-alive-fetch.ts';
import type { WebhookResult } from './sim-metrics.ts';
import type { SimStats } from './sim-stats.ts';

/** How the simulator retries a webhook the receiver did not take, like Meta does. */
export interface WebhookRetryPolicy {
  /** Wait before the first retry; doubles on every further retry. @default 200 */
  baseDelayMs: number;
  /** Attempts per event, the first one included. @default 8 */
  maxAttempts: number;
  /** Per-attempt timeout; a slower receiver counts as failed. @default 5000 */
  requestTimeoutMs: number;
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
  stats: SimStats;
  logger: Logger;
}

/** Sends signed webhook POSTs after a delay, retrying with exponential backoff. */
export class WebhookDispatcher {
  private controller = new AbortController();
  private readonly tasks = new Set<Promise<void>>();
  private closed = false;
  /** node:http with keep-alive: a fraction of the built-in fetch's CPU per webhook. */
  private readonly fetch = keepAliveFetch();

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
    this.controller = new AbortController();
  }

  /** Cancels everything, refuses new events, and waits until no timer or request is left. */
  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort();
    await Promise.allSettled([...this.tasks]);
    this.fetch.close();
  }

  private track(task: () => Promise<void>): void {
    const running = task().finally(() => this.tasks.delete(running));
    this.tasks.add(running);
  }

  private async runEvent(channel: Channel, event: WebhookEvent, start: number, signal: AbortSignal): Promise<void> {
    let result: WebhookResult | undefined;
    try {
      await sleep(Math.max(0, start + event.delayMs - performance.now()), undefined, { signal });
      result = await this.deliver(channel, JSON.stringify(event.payload), signal);
    } catch (err) {
      if (!signal.aborted) this.deps.logger.error({ err, channel }, 'webhook delivery crashed');
    } finally {
      this.deps.stats.webhookDone(channel, result);
    }
  }

  private async deliver(channel: Channel, body: string, signal: AbortSignal): Promise<WebhookResult> {
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
        const res = await this.fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signature,
            'user-agent': 'facebookexternalua',
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(retry.requestTimeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return 'sent';
        logger.warn({ channel, url, status: res.status, attempt }, 'webhook receiver answered non-2xx');
      } catch (err) {
        if (signal.aborted) throw err;
        logger.warn({ channel, url, attempt, err: (err as Error).message }, 'webhook POST failed');
      }
      if (attempt < retry.maxAttempts) await sleep(retry.baseDelayMs * 2 ** (attempt - 1), undefined, { signal });
    }
    logger.error({ channel, attempts: retry.maxAttempts }, 'webhook given up after every retry');
    return 'failed';
  }
}

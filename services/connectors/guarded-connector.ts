import CircuitBreaker from 'opossum';
import type { Logger } from '../core/logger.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { ChannelConnector, OutgoingFile, SendOptions, SendResult } from './channel-connector.ts';
import { ProviderError } from './provider-error.ts';
import { Pacer } from './pacer.ts';
import type { ConnectorMetrics } from './metrics.ts';

export interface BreakerOptions {
  /** A call slower than this counts as a failure. @default 10000 */
  timeoutMs: number;
  /** Share of failed calls (percent) in the rolling window that opens the breaker. @default 50 */
  errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open at all. @default 5 */
  volumeThreshold: number;
  /** How long the breaker stays open before one probe is let through. @default 5000 */
  resetTimeoutMs: number;
  /** Rolling window. @default 10000 */
  rollingCountTimeoutMs: number;
}

export interface PacingOptions {
  /** Calls per second per sender for text. */
  textPerSecond: number;
  /** Calls per second per sender for media. */
  mediaPerSecond: number;
}

export const BREAKER_STATE = { closed: 0, open: 1, halfOpen: 2 } as const;
type StateName = keyof typeof BREAKER_STATE;

/**
 * A channel connector behind a circuit breaker per provider operation (send text, send file),
 * each created once, and a pacer per sender. Permanent provider errors (bad recipient, outside
 * the window) are the recipient's problem, not the provider's: they do not count towards
 * opening the breaker. While a breaker is open, calls fail at once with `EOPENBREAKER` and no
 * request reaches the provider, except one probe per reset timeout.
 */
export class GuardedConnector implements ChannelConnector {
  readonly channel: ChannelConnector['channel'];
  private readonly text: CircuitBreaker<[to: string, text: string, o?: SendOptions], SendResult>;
  private readonly file: CircuitBreaker<[to: string, f: OutgoingFile, o?: SendOptions], SendResult>;
  private readonly pacer: Pacer;

  constructor(
    private readonly inner: ChannelConnector,
    private readonly opts: {
      breaker: BreakerOptions;
      pacing: PacingOptions;
      /** The sender the provider limits by (phone number id, account id). */
      senderKey: string;
      clock: Clock;
      metrics: ConnectorMetrics;
      logger: Logger;
    },
  ) {
    this.channel = inner.channel;
    this.pacer = new Pacer(opts.clock);
    const common = {
      timeout: opts.breaker.timeoutMs,
      errorThresholdPercentage: opts.breaker.errorThresholdPercentage,
      volumeThreshold: opts.breaker.volumeThreshold,
      resetTimeout: opts.breaker.resetTimeoutMs,
      rollingCountTimeout: opts.breaker.rollingCountTimeoutMs,
      rollingCountBuckets: 10,
      // Errors the filter accepts are not failures of the provider: they never open the breaker.
      errorFilter: (err: unknown) => err instanceof ProviderError && !err.retriable,
    };
    this.text = this.watch(new CircuitBreaker((to: string, text: string, o?: SendOptions) => inner.sendText(to, text, o), common), 'send_text');
    this.file = this.watch(new CircuitBreaker((to: string, f: OutgoingFile, o?: SendOptions) => inner.sendFile(to, f, o), common), 'send_file');
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private watch<T extends CircuitBreaker<any, any>>(breaker: T, operation: string): T {
    const labels = { channel: this.channel, operation };
    let state: StateName = 'closed';
    const to = (next: StateName) => () => {
      const from = state;
      state = next;
      this.opts.metrics.breakerState.set(labels, BREAKER_STATE[next]);
      this.opts.metrics.breakerTransitions.inc({ ...labels, from, to: next });
      const log = next === 'open' ? this.opts.logger.warn.bind(this.opts.logger) : this.opts.logger.info.bind(this.opts.logger);
      log({ ...labels, from, to: next }, `circuit breaker ${from} → ${next}`);
    };
    this.opts.metrics.breakerState.set(labels, 0);
    // The rolling error rate is slow to notice a provider that just went down after a busy
    // minute of successes; `volumeThreshold` failures in a row open the breaker at once.
    let consecutive = 0;
    breaker.on('success', () => (consecutive = 0));
    breaker.on('failure', () => {
      consecutive++;
      if (consecutive >= this.opts.breaker.volumeThreshold && breaker.closed) breaker.open();
    });
    breaker.on('open', to('open'));
    breaker.on('halfOpen', to('halfOpen'));
    breaker.on('close', to('closed'));
    return breaker;
  }

  async sendText(to: string, text: string, options?: SendOptions): Promise<SendResult> {
    await this.pacer.take(`${this.opts.senderKey}:text`, this.opts.pacing.textPerSecond);
    return this.text.fire(to, text, options);
  }

  async sendFile(to: string, file: OutgoingFile, options?: SendOptions): Promise<SendResult> {
    await this.pacer.take(`${this.opts.senderKey}:media`, this.opts.pacing.mediaPerSecond);
    return this.file.fire(to, file, options);
  }

  verifySubscription(query: Record<string, unknown>) {
    return this.inner.verifySubscription(query);
  }

  parseWebhook(request: Parameters<ChannelConnector['parseWebhook']>[0]) {
    return this.inner.parseWebhook(request);
  }

  // A lookup, not a send: no breaker and no pacing (it never rejects and waits only briefly).
  profileName(address: string): Promise<string | undefined> {
    return this.inner.profileName ? this.inner.profileName(address) : Promise.resolve(undefined);
  }

  // Not through the send breaker: a media download is not a send, and its failures are the intake's to count.
  get fetchMedia(): ChannelConnector['fetchMedia'] {
    return this.inner.fetchMedia?.bind(this.inner);
  }

  /** Whether both breakers let calls through (closed or probing). */
  get open(): boolean {
    return this.text.opened || this.file.opened;
  }

  /** Stops the breakers' timers. */
  shutdown(): void {
    this.text.shutdown();
    this.file.shutdown();
  }
}

/** Whether an error is a breaker refusing a call (no request was made). */
export function isOpenBreaker(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EOPENBREAKER';
}

/** Whether an error is the breaker's own timeout (the provider may still have taken the call). */
export function isBreakerTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ETIMEDOUT';
}

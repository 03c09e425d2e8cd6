import type { MessageStore } from '../core/ports/message-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { Delivery, DeliveryError, StatusEvent } from '../core/domain/types.ts';
import type { DeliveryJob } from '../core/records.ts';
import { forChannel, type ChannelJob } from './channel-payload.ts';
import { messageLogger, type Logger } from '../core/logger.ts';
import type { ChannelConnector, SendResult } from './channel-connector.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
import { backoffDelay, type BackoffOptions } from './retry-policy.ts';
import { isBreakerTimeout, isOpenBreaker } from './guarded-connector.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { planFileSend, type FileDeliveryDeps, type FileSend } from './file-delivery.ts';
import type { RecentSends } from './recent-sends.ts';

export interface DeliverDeps {
  messages: MessageStore;
  deliveries: DeliveryStore;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
  connectors: Map<string, ChannelConnector>;
  /** Files: their records and presigned links to their bytes, for file messages. */
  files: FileDeliveryDeps;
  /** How long a send left in doubt by an earlier process (a crash) waits for the provider's echo. */
  inDoubtGraceMs: number;
  /** The same for a send left in doubt by this process (its webhook receiver was up). */
  inDoubtShortGraceMs: number;
  /** When this process started: an in-flight mark older than this was left by a crash. */
  startedAt: number;
  /** A delivery older than this is FAILED instead of tried again. */
  maxAgeMs: number;
  backoff: BackoffOptions;
  /** Attempts per delivery in this process, for the backoff. */
  attempts: Map<string, number>;
  /** Where the sends the provider accepted are noted (with the write of their ids) for the status intake. */
  recentSends?: RecentSends;
}

/** Provider error codes after which the provider may or may not have taken the message. */
const IN_DOUBT = new Set(['provider_timeout', 'provider_network_error']);

/**
 * Delivers one job: drains its conversation on its channel, in seq order, up to the job's seq.
 * Older deliveries still unsent go first, so the provider sees seq order; a delivery the provider
 * already accepted is never sent again (a replay after a crash). When a delivery cannot go now
 * (provider down, breaker open, a retriable error, an in-doubt send awaiting its echo) it is
 * parked in the store with the time of its next attempt and everything behind it in its
 * conversation waits too; the Kafka record is done — nothing blocks the partition, and the
 * connector's retry loop drains parked conversations when they are due.
 */
export async function deliver(deps: DeliverDeps, job: DeliveryJob): Promise<'sent' | 'skipped' | 'failed' | 'waiting'> {
  const current = await deps.deliveries.getDelivery(job.delivery_id);
  if (!current || current.status !== 'SENT' || current.provider_message_id) {
    deps.metrics.sent.inc({ channel: job.channel, status: 'skipped' });
    return 'skipped';
  }
  return drainConversation(deps, job.conversation_id, job.channel, job.seq, job);
}

/** In-process locks per conversation and channel: one drain of a conversation at a time. */
const locks = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` holding the locks of all `keys` at once (a batch holds every conversation it sends
 * to). They are taken together, in one synchronous step, so two holders never wait on each other.
 */
export function withLocks<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
  const held = keys.map((k) => locks.get(k) ?? Promise.resolve());
  const run = Promise.all(held).then(fn, fn);
  const tail = run.catch(() => undefined);
  for (const key of keys) {
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
  }
  return run;
}

/** The lock key of a conversation on a channel. */
export const lockKey = (channel: string, conversationId: string) => `${channel}:${conversationId}`;

/**
 * Sends a conversation's unsent deliveries on one channel in seq order, up to `upToSeq`
 * (Infinity: all). Stops at the first that has to wait. `known`: a job in hand, whose message
 * need not be read again.
 */
export function drainConversation(
  deps: DeliverDeps,
  conversationId: string,
  channel: DeliveryJob['channel'],
  upToSeq: number,
  known?: DeliveryJob,
): Promise<'sent' | 'failed' | 'waiting' | 'skipped'> {
  return withLocks([lockKey(channel, conversationId)], async () => {
    const pending = await deps.deliveries.listUnsentBefore(conversationId, channel, upToSeq + 1);
    if (pending.length === 0) return 'skipped';
    let last: 'sent' | 'failed' | 'waiting' = 'sent';
    for (const d of pending) {
      if (isParked(deps, d)) return 'waiting';
      const job = await channelJob(deps, d, known?.message_id === d.message_id ? known : undefined);
      if (!job) continue;
      last = await sendOne(deps, d, job);
      if (last === 'waiting') return 'waiting';
    }
    return last;
  });
}

/** Whether a delivery is parked until later (everything behind it in its conversation waits too). */
export function isParked(deps: Pick<DeliverDeps, 'clock'>, d: Delivery): boolean {
  return d.next_attempt_at !== null && Date.parse(d.next_attempt_at) > deps.clock.now();
}

/**
 * What a delivery sends, as the channel takes it; null when its message is gone or it has no
 * address. `known`: the job of the delivery's message in hand (its payload is not read again).
 */
export async function channelJob(deps: DeliverDeps, d: Delivery & { seq: number }, known?: DeliveryJob): Promise<ChannelJob | null> {
  // The job in hand carries its message: the store is read only for older deliveries.
  const message = known ? { payload: known.payload, created_at: known.accepted_at, trace_id: known.trace_id } : await deps.messages.getMessage(d.message_id);
  if (!message || !d.address) return null;
  return {
    delivery_id: d.delivery_id,
    message_id: d.message_id,
    conversation_id: d.conversation_id,
    seq: d.seq,
    channel: d.channel as ChannelJob['channel'],
    recipient_id: d.recipient_id,
    to: d.address,
    payload: forChannel(message.payload),
    accepted_at: message.created_at,
    trace_id: message.trace_id,
  };
}

/** What a send logs through: the levels it uses. */
export type SendLog = Pick<Logger, 'info' | 'warn' | 'debug'>;

/**
 * The logger of one delivery's send, with the message's and the delivery's ids on every line.
 * The child logger is made on the first line logged: most sends log nothing else (the line of an
 * accepted send is written from the base logger, see `afterRecorded`).
 */
export function sendLogger(deps: Pick<DeliverDeps, 'logger'>, job: ChannelJob): SendLog {
  let child: Logger | undefined;
  const log = () => (child ??= messageLogger(deps.logger, job).child({ delivery_id: job.delivery_id, channel: job.channel }));
  return {
    info: ((...args: Parameters<Logger['info']>) => log().info(...args)) as Logger['info'],
    warn: ((...args: Parameters<Logger['warn']>) => log().warn(...args)) as Logger['warn'],
    debug: ((...args: Parameters<Logger['debug']>) => log().debug(...args)) as Logger['debug'],
  };
}

async function park(deps: DeliverDeps, deliveryId: string, delayMs: number): Promise<'waiting'> {
  await deps.deliveries.parkDelivery(deliveryId, isoAt(deps.clock.now() + delayMs));
  return 'waiting';
}

async function fail(deps: DeliverDeps, job: DeliveryJob, error: DeliveryError) {
  const event: StatusEvent = { delivery_id: job.delivery_id, status: 'FAILED', at: isoAt(deps.clock.now()), error, source: 'connector' };
  // Recorded at once in the store, so no later job sends this delivery again.
  await deps.deliveries.applyStatus(event);
  deps.attempts.delete(job.delivery_id);
}

async function sendOne(deps: DeliverDeps, delivery: Delivery, job: ChannelJob): Promise<'sent' | 'failed' | 'waiting'> {
  const log = sendLogger(deps, job);
  const verdict = await beforeCall(deps, delivery, job, log);
  if (verdict !== 'go') return verdict;
  await deps.deliveries.markInFlight(job.delivery_id, isoAt(deps.clock.now()));
  const outcome = await callProvider(deps, job, log);
  if (outcome === 'failed' || outcome === 'waiting') return outcome;
  await noteSend(deps, job, outcome.result.provider_message_id, deps.deliveries.recordProviderRef(job.delivery_id, outcome.result.provider_message_id));
  await afterRecorded(deps, job, outcome, log);
  return 'sent';
}

/**
 * Before a provider call: a delivery older than the maximum age fails; one whose earlier call is
 * in doubt waits (parked) for the provider's echo until its grace period is over. 'go' otherwise.
 */
export async function beforeCall(deps: DeliverDeps, delivery: Delivery, job: ChannelJob, log: SendLog): Promise<'go' | 'failed' | 'waiting'> {
  const age = deps.clock.now() - Date.parse(job.accepted_at);
  if (age > deps.maxAgeMs) {
    const last = delivery.error ? ` (last error: ${delivery.error.message})` : '';
    await fail(deps, job, {
      code: 'max_age_exceeded',
      message: `not accepted by ${job.channel} within ${Math.round(deps.maxAgeMs / 1000)} s of acceptance${last}`,
    });
    deps.metrics.expired.inc({ channel: job.channel });
    log.warn({ age_ms: age }, 'delivery waited longer than the maximum age; failed');
    return 'failed';
  }

  if (delivery.in_flight_since) {
    // An earlier call's outcome is unknown (a crash or a timeout). If the provider took it, its
    // webhook echoes our reference and the webhook handler records the provider id (which ends
    // the wait). Until the grace period is over the delivery waits; then it is sent again.
    const leftByCrash = Date.parse(delivery.in_flight_since) < deps.startedAt;
    const from = leftByCrash ? Math.max(Date.parse(delivery.in_flight_since), deps.startedAt) : Date.parse(delivery.in_flight_since);
    const graceEnd = from + (leftByCrash ? deps.inDoubtGraceMs : deps.inDoubtShortGraceMs);
    if (deps.clock.now() < graceEnd) {
      if (!delivery.next_attempt_at) log.info({ until: isoAt(graceEnd) }, 'an earlier attempt is in doubt; waiting for the provider to echo it');
      return park(deps, delivery.delivery_id, graceEnd - deps.clock.now());
    }
    deps.metrics.ambiguous.inc({ channel: job.channel, outcome: 'resent' });
    log.warn('an earlier attempt left no trace at the provider; sending again');
  }
  return 'go';
}

/**
 * Notes a send the provider accepted, with the write of its provider id, so its statuses are
 * matched without a store read (`recent-sends.ts`); answers that write.
 */
export function noteSend(deps: Pick<DeliverDeps, 'recentSends'>, job: ChannelJob, providerMessageId: string, recorded: Promise<boolean>): Promise<boolean> {
  deps.recentSends?.note(job.channel, providerMessageId, { delivery_id: job.delivery_id, created_at: job.accepted_at, trace_id: job.trace_id }, recorded);
  return recorded;
}

/** A provider's acceptance of a send, and how a file went (as media or as a link). */
export interface Accepted {
  result: SendResult;
  plan?: FileSend;
}

/**
 * The provider call of a delivery already marked in flight. A failure is dealt with here: a
 * refusal clears the mark, a permanent error fails the delivery, anything retriable parks it.
 */
export async function callProvider(deps: DeliverDeps, job: ChannelJob, log: SendLog): Promise<Accepted | 'failed' | 'waiting'> {
  const connector = deps.connectors.get(job.channel);
  if (!connector) throw new Error(`no connector for channel ${job.channel}`);
  const started = performance.now();
  try {
    const options = { reference: job.delivery_id };
    let plan: FileSend | undefined;
    let result;
    if (job.payload.type === 'text') {
      result = await connector.sendText(job.to, job.payload.text, options);
    } else {
      plan = await planFileSend(deps.files, job.channel, job.conversation_id, job.payload);
      result = plan.as === 'media' ? await connector.sendFile(job.to, plan.file, options) : await connector.sendText(job.to, plan.text, options);
    }
    deps.metrics.apiDuration.observe({ channel: job.channel, outcome: 'success' }, (performance.now() - started) / 1000);
    return plan ? { result, plan } : { result };
  } catch (err) {
    const openBreaker = isOpenBreaker(err);
    const inDoubt = isBreakerTimeout(err) || (err instanceof ProviderError && IN_DOUBT.has(err.code));
    // A refusal (or a breaker that made no call) means the provider did not take it.
    if (!inDoubt) await deps.deliveries.clearInFlight(job.delivery_id);
    const retriable = openBreaker || inDoubt || !(err instanceof ProviderError) || err.retriable;
    const outcome = openBreaker ? 'breaker_open' : retriable ? 'retriable' : 'permanent';
    if (!openBreaker) {
      deps.metrics.apiDuration.observe({ channel: job.channel, outcome }, (performance.now() - started) / 1000);
    }
    deps.metrics.sent.inc({ channel: job.channel, status: outcome });
    if (!retriable) {
      const error = toDeliveryError(err);
      await fail(deps, job, error);
      log.warn({ error }, 'provider refused the delivery for good');
      return 'failed';
    }
    const attempt = (deps.attempts.get(job.delivery_id) ?? 0) + 1;
    deps.attempts.set(job.delivery_id, attempt);
    const retryAfter = err instanceof ProviderError ? err.retryAfterMs : null;
    const delay = backoffDelay(attempt, deps.backoff, retryAfter);
    if (!openBreaker || attempt === 1) log.warn({ err, attempt, retry_in_ms: delay }, 'provider call failed; the delivery waits and is tried again');
    return park(deps, job.delivery_id, delay);
  }
}

/** After the provider's id is recorded: the fallback note of a file sent as a link, metrics, log. */
export async function afterRecorded(deps: DeliverDeps, job: ChannelJob, { result, plan }: Accepted, log: SendLog): Promise<void> {
  if (plan?.as === 'link') {
    await deps.deliveries.recordFallback(job.delivery_id, plan.fallback, isoAt(deps.clock.now()));
    deps.metrics.mediaFallbacks.inc({ channel: job.channel, reason: plan.fallback.reason });
    log.info({ fallback: plan.fallback.fallback, reason: plan.fallback.reason, detail: plan.detail }, 'the file is over the channel limit; sent as a download link');
  }
  deps.metrics.sent.inc({ channel: job.channel, status: 'success' });
  deps.attempts.delete(job.delivery_id);
  // One line per message (docs/observability.md): written with the fields of the send's child
  // logger, in its order, but without making one (pino builds a child per call: most of the cost).
  if (deps.logger.isLevelEnabled('info')) {
    deps.logger.info(
      { message_id: job.message_id, conversation_id: job.conversation_id, trace_id: job.trace_id, delivery_id: job.delivery_id, channel: job.channel, provider_message_id: result.provider_message_id },
      'provider accepted the delivery',
    );
  }
}

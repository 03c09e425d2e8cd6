import type { MessageStore } from '../core/ports/message-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { Delivery, DeliveryError, StatusEvent } from '../core/domain/types.ts';
import type { DeliveryJob } from '../core/topics.ts';
import { messageLogger, type Logger } from '../core/logger.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
import { backoffDelay, RetryLater, type BackoffOptions } from './retry-policy.ts';
import { isBreakerTimeout, isOpenBreaker } from './guarded-connector.ts';
import type { ConnectorMetrics } from './metrics.ts';

export interface DeliverDeps {
  store: MessageStore;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
  connectors: Map<string, ChannelConnector>;
  /** Where providers fetch files: `<base>/<file_id>`. */
  filesBaseUrl: string;
  /** How long to wait for a provider's echo of a send left in doubt by an earlier process. */
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
}

/** Provider error codes after which the provider may or may not have taken the message. */
const IN_DOUBT = new Set(['provider_timeout', 'provider_network_error']);

/**
 * Delivers one job to its provider, once, in conversation order. The store tells whether a
 * provider already accepted this delivery (a replay after a crash), in which case nothing is sent
 * again. Older deliveries of the same conversation and channel that are still unsent go out
 * first, so the provider sees seq order. A permanent provider error ends the delivery FAILED with
 * the provider's code. A retriable one — or an open breaker — throws `RetryLater`: the record is
 * not committed, waits durably on its partition, and is handed again after a backoff, so nothing
 * behind it overtakes it. A delivery that waited longer than the maximum age is FAILED.
 */
export async function deliver(deps: DeliverDeps, job: DeliveryJob): Promise<'sent' | 'skipped' | 'failed'> {
  const current = await deps.store.getDelivery(job.delivery_id);
  if (!current || current.status !== 'SENT' || current.provider_message_id) {
    deps.metrics.sent.inc({ channel: job.channel, status: 'skipped' });
    return 'skipped';
  }
  for (const older of await deps.store.listUnsentBefore(job.conversation_id, job.channel, job.seq)) {
    const message = await deps.store.getMessage(older.message_id);
    if (!message || !older.address) continue;
    await sendOne(deps, older, {
      ...job,
      delivery_id: older.delivery_id,
      message_id: older.message_id,
      seq: older.seq,
      recipient_id: older.recipient_id,
      to: older.address,
      payload: message.payload,
      accepted_at: message.created_at,
      trace_id: message.trace_id,
    });
  }
  return sendOne(deps, current, job);
}

async function fail(deps: DeliverDeps, job: DeliveryJob, error: DeliveryError) {
  const event: StatusEvent = { delivery_id: job.delivery_id, status: 'FAILED', at: isoAt(deps.clock.now()), error, source: 'connector' };
  // Recorded at once in the store, so no later job sends this delivery again.
  await deps.store.applyStatus(event);
  deps.attempts.delete(job.delivery_id);
}

async function sendOne(deps: DeliverDeps, delivery: Delivery, job: DeliveryJob): Promise<'sent' | 'failed'> {
  const log = messageLogger(deps.logger, job).child({ delivery_id: job.delivery_id, channel: job.channel });
  const connector = deps.connectors.get(job.channel);
  if (!connector) throw new Error(`no connector for channel ${job.channel}`);

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
    // webhook echoes our reference and the webhook handler records the provider id: wait for that
    // before sending again, so a crash does not become a duplicate.
    const leftByCrash = Date.parse(delivery.in_flight_since) < deps.startedAt;
    const ref = await waitForProviderRef(deps, delivery.delivery_id, leftByCrash ? deps.inDoubtGraceMs : deps.inDoubtShortGraceMs);
    if (ref) {
      deps.metrics.ambiguous.inc({ channel: job.channel, outcome: 'recovered' });
      log.info({ provider_message_id: ref }, 'an earlier attempt had reached the provider; not sending again');
      deps.attempts.delete(job.delivery_id);
      return 'sent';
    }
    deps.metrics.ambiguous.inc({ channel: job.channel, outcome: 'resent' });
    log.warn('an earlier attempt left no trace at the provider; sending again');
  }

  await deps.store.markInFlight(job.delivery_id, isoAt(deps.clock.now()));
  const started = performance.now();
  try {
    const options = { reference: job.delivery_id };
    const result =
      job.payload.type === 'text'
        ? await connector.sendText(job.to, job.payload.text, options)
        : await connector.sendFile(
            job.to,
            { url: `${deps.filesBaseUrl.replace(/\/$/, '')}/${encodeURIComponent(job.payload.file_id)}`, caption: job.payload.caption },
            options,
          );
    deps.metrics.apiDuration.observe({ channel: job.channel, outcome: 'success' }, (performance.now() - started) / 1000);
    await deps.store.recordProviderRef(job.delivery_id, result.provider_message_id);
    deps.metrics.sent.inc({ channel: job.channel, status: 'success' });
    deps.attempts.delete(job.delivery_id);
    log.debug({ provider_message_id: result.provider_message_id }, 'provider accepted the delivery');
    return 'sent';
  } catch (err) {
    const openBreaker = isOpenBreaker(err);
    const inDoubt = isBreakerTimeout(err) || (err instanceof ProviderError && IN_DOUBT.has(err.code));
    // A refusal (or a breaker that made no call) means the provider did not take it.
    if (!inDoubt) await deps.store.clearInFlight(job.delivery_id);
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
    throw new RetryLater(`${job.channel} delivery ${job.delivery_id} waits (${outcome})`, delay, { cause: err });
  }
}

/** Waits for a provider id to show up for a delivery (recorded from a webhook echo), up to `graceMs`. */
async function waitForProviderRef(deps: DeliverDeps, deliveryId: string, graceMs: number): Promise<string | null> {
  const deadline = deps.clock.now() + graceMs;
  for (;;) {
    const d = await deps.store.getDelivery(deliveryId);
    if (d?.provider_message_id) return d.provider_message_id;
    if (deps.clock.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}

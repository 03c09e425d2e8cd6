import type { Bus } from '../core/ports/bus.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { StatusEvent } from '../core/domain/types.ts';
import type { DeliveryJob } from '../core/topics.ts';
import { messageLogger, type Logger } from '../core/logger.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
import type { Delivery } from '../core/domain/types.ts';

/** Provider error codes after which the provider may or may not have taken the message. */
const IN_DOUBT = new Set(['provider_timeout', 'provider_network_error']);

/** Waits for a provider id to show up for a delivery (recorded from a webhook echo), up to the grace period. */
async function waitForProviderRef(deps: DeliverDeps, deliveryId: string): Promise<string | null> {
  const deadline = deps.clock.now() + deps.inDoubtGraceMs;
  for (;;) {
    const d = await deps.store.getDelivery(deliveryId);
    if (d?.provider_message_id) return d.provider_message_id;
    if (deps.clock.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}
import type { ConnectorMetrics } from './metrics.ts';

export interface DeliverDeps {
  store: MessageStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
  connectors: Map<string, ChannelConnector>;
  /** Where providers fetch files: `<base>/<file_id>`. */
  filesBaseUrl: string;
  /** How long to wait for a provider's echo of a send whose outcome is in doubt before sending again. */
  inDoubtGraceMs: number;
}

/**
 * Delivers one job to its provider, once, in conversation order. The store tells whether a
 * provider already accepted this delivery (a replay after a crash), in which case nothing is sent
 * again. Older deliveries of the same conversation and channel that are still unsent (their
 * record was lost, or is being retried elsewhere) go out first, so the provider sees seq order.
 * A permanent provider error ends the delivery FAILED with the provider's code; a retriable one
 * is thrown, so the record is handed again later and nothing behind it overtakes it.
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

async function sendOne(deps: DeliverDeps, delivery: Delivery, job: DeliveryJob): Promise<'sent' | 'failed'> {
  const log = messageLogger(deps.logger, job).child({ delivery_id: job.delivery_id, channel: job.channel });
  const connector = deps.connectors.get(job.channel);
  if (!connector) throw new Error(`no connector for channel ${job.channel}`);

  if (delivery.in_flight_since) {
    // An earlier call's outcome is unknown (a crash or a timeout). If the provider took it, its
    // webhook echoes our reference and the webhook handler records the provider id: wait for that
    // before sending again, so a crash does not become a duplicate.
    const ref = await waitForProviderRef(deps, delivery.delivery_id);
    if (ref) {
      deps.metrics.ambiguous.inc({ channel: job.channel, outcome: 'recovered' });
      log.info({ provider_message_id: ref }, 'an earlier attempt had reached the provider; not sending again');
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
            {
              url: `${deps.filesBaseUrl.replace(/\/$/, '')}/${encodeURIComponent(job.payload.file_id)}`,
              caption: job.payload.caption,
            },
            options,
          );
    deps.metrics.apiDuration.observe({ channel: job.channel, outcome: 'success' }, (performance.now() - started) / 1000);
    await deps.store.recordProviderRef(job.delivery_id, result.provider_message_id);
    deps.metrics.sent.inc({ channel: job.channel, status: 'success' });
    log.debug({ provider_message_id: result.provider_message_id }, 'provider accepted the delivery');
    return 'sent';
  } catch (err) {
    const retriable = !(err instanceof ProviderError) || err.retriable;
    // A clear refusal means the provider did not take it; a timeout or a cut connection leaves it in doubt.
    if (err instanceof ProviderError && !IN_DOUBT.has(err.code)) await deps.store.clearInFlight(job.delivery_id);
    deps.metrics.apiDuration.observe(
      { channel: job.channel, outcome: retriable ? 'retriable' : 'permanent' },
      (performance.now() - started) / 1000,
    );
    deps.metrics.sent.inc({ channel: job.channel, status: retriable ? 'retriable' : 'permanent' });
    if (retriable) {
      log.warn({ err }, 'provider call failed; will retry');
      throw err;
    }
    // Recorded at once in the store, so no later job sends this delivery again.
    const event: StatusEvent = {
      delivery_id: job.delivery_id,
      status: 'FAILED',
      at: isoAt(deps.clock.now()),
      error: toDeliveryError(err),
      source: 'connector',
    };
    await deps.store.applyStatus(event);
    log.warn({ error: event.error }, 'provider refused the delivery for good');
    return 'failed';
  }
}

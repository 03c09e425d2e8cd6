import type { Bus } from '../core/ports/bus.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { StatusEvent } from '../core/domain/types.ts';
import { TOPICS, type DeliveryJob } from '../core/topics.ts';
import { messageLogger, type Logger } from '../core/logger.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
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
}

/**
 * Delivers one job to its provider, once. The store tells whether a provider already accepted
 * this delivery (a replay after a crash), in which case nothing is sent again. A permanent
 * provider error ends the delivery FAILED with the provider's code; a retriable one is thrown,
 * so the record is handed again later and nothing behind it overtakes it.
 */
export async function deliver(deps: DeliverDeps, job: DeliveryJob): Promise<'sent' | 'skipped' | 'failed'> {
  const log = messageLogger(deps.logger, job).child({ delivery_id: job.delivery_id, channel: job.channel });
  const current = await deps.store.getDelivery(job.delivery_id);
  if (!current || current.status !== 'SENT' || current.provider_message_id) {
    deps.metrics.sent.inc({ channel: job.channel, status: 'skipped' });
    return 'skipped';
  }
  const connector = deps.connectors.get(job.channel);
  if (!connector) throw new Error(`no connector for channel ${job.channel}`);

  const started = performance.now();
  try {
    const result =
      job.payload.type === 'text'
        ? await connector.sendText(job.to, job.payload.text)
        : await connector.sendFile(job.to, {
            url: `${deps.filesBaseUrl.replace(/\/$/, '')}/${encodeURIComponent(job.payload.file_id)}`,
            caption: job.payload.caption,
          });
    deps.metrics.apiDuration.observe({ channel: job.channel, outcome: 'success' }, (performance.now() - started) / 1000);
    await deps.store.recordProviderRef(job.delivery_id, result.provider_message_id);
    deps.metrics.sent.inc({ channel: job.channel, status: 'success' });
    log.debug({ provider_message_id: result.provider_message_id }, 'provider accepted the delivery');
    return 'sent';
  } catch (err) {
    const retriable = !(err instanceof ProviderError) || err.retriable;
    deps.metrics.apiDuration.observe(
      { channel: job.channel, outcome: retriable ? 'retriable' : 'permanent' },
      (performance.now() - started) / 1000,
    );
    deps.metrics.sent.inc({ channel: job.channel, status: retriable ? 'retriable' : 'permanent' });
    if (retriable) {
      log.warn({ err }, 'provider call failed; will retry');
      throw err;
    }
    const event: StatusEvent = {
      delivery_id: job.delivery_id,
      status: 'FAILED',
      at: isoAt(deps.clock.now()),
      error: toDeliveryError(err),
      source: 'connector',
    };
    await deps.bus.publish(TOPICS.status, [{ key: job.conversation_id, value: JSON.stringify(event), headers: { trace_id: job.trace_id } }]);
    log.warn({ error: event.error }, 'provider refused the delivery for good');
    return 'failed';
  }
}

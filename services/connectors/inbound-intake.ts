import type { ExternalChannel, Payload } from '../core/domain/types.ts';
import type { MessageRef } from '../core/domain/inbound-payload.ts';
import { AppError } from '../core/errors.ts';
import { inboundMessageId, type InboundMessage, type InboundResult } from '../core/inbound/accept-inbound.ts';
import type { Logger } from '../core/logger.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { RefusedInbound } from './channel-connector.ts';
import type { ConnectorMetrics } from './metrics.ts';

/** What taking the inbound half of a webhook needs. */
export interface InboundIntakeDeps {
  /** The core's `acceptInbound`, bound to its ports: resolves once the message is durable. */
  accept: (m: InboundMessage) => Promise<InboundResult>;
  /** To name our message behind a reaction, an edit or an unsend (a send of ours, by its provider id). */
  deliveries: Pick<DeliveryStore, 'findDeliveryByProviderRef'>;
  /** … or a message that came in earlier (its id is derived from the provider's). */
  messages: Pick<MessageStore, 'getMessage'>;
  metrics: Pick<ConnectorMetrics, 'inbound' | 'inboundRefused' | 'webhooks'>;
  logger: Logger;
  /** The channel's profile lookup, for senders the webhook does not name (`ChannelConnector.profileName`). */
  profileName?: (address: string) => Promise<string | undefined>;
}

/**
 * Makes every inbound message of one webhook durable before the webhook is acknowledged. Each is
 * accepted in the order the provider listed them; a failure does not stop the others, but the
 * call then rejects with a 503 (`Retry-After: 1`) so the provider delivers the webhook again,
 * and the messages already accepted are found by their derived ids (no duplicates). Refusals
 * are counted and logged: a retry would not change them, so they do not hold up the 200.
 */
export async function takeInbound(deps: InboundIntakeDeps, inbound: InboundMessage[], refused: RefusedInbound[]): Promise<void> {
  for (const r of refused) {
    deps.metrics.inboundRefused.inc({ channel: r.channel, reason: r.reason });
    deps.metrics.inbound.inc({ channel: r.channel, type: r.type, result: 'refused' });
    deps.logger.info({ channel: r.channel, type: r.type, reason: r.reason, provider_message_id: r.provider_message_id, from: r.from }, 'inbound event refused');
  }
  let failed = 0;
  for (const m of inbound) {
    const labels = { channel: m.channel, type: m.payload.type };
    try {
      const named = m.profile_name === undefined && deps.profileName ? await deps.profileName(m.from) : m.profile_name;
      const result = await deps.accept({ ...m, ...(named ? { profile_name: named } : {}), payload: await withOurIds(deps, m.channel, m.payload) });
      deps.metrics.inbound.inc({ ...labels, result: result.created ? 'accepted' : 'duplicate' });
      deps.logger.debug({ ...labels, provider_message_id: m.provider_message_id, message_id: result.message_id, conversation_id: result.conversation_id, created: result.created }, 'inbound message durable');
    } catch (err) {
      failed++;
      deps.metrics.inbound.inc({ ...labels, result: 'failed' });
      deps.logger.warn({ err, ...labels, provider_message_id: m.provider_message_id }, 'inbound message not made durable; the provider will retry');
    }
  }
  if (failed > 0) {
    deps.metrics.webhooks.inc({ channel: inbound[0]!.channel, result: 'inbound_not_durable' });
    throw new AppError('inbound_not_durable', `${failed} of ${inbound.length} inbound message(s) could not be stored; retry later`, {
      status: 503,
      retriable: true,
      headers: { 'Retry-After': '1' },
    });
  }
}

/** A reaction, an edit or an unsend names the provider's message; add ours when the platform knows it. */
async function withOurIds(deps: InboundIntakeDeps, channel: ExternalChannel, p: Payload): Promise<Payload> {
  if (p.type === 'reaction') return { ...p, reacts_to: await resolve(deps, channel, p.reacts_to) };
  if (p.type === 'edit') return { ...p, edits: await resolve(deps, channel, p.edits) };
  if (p.type === 'deletion') return { ...p, deletes: await resolve(deps, channel, p.deletes) };
  return p;
}

async function resolve(deps: InboundIntakeDeps, channel: ExternalChannel, ref: MessageRef): Promise<MessageRef> {
  const sent = await deps.deliveries.findDeliveryByProviderRef(channel, ref.provider_message_id);
  if (sent) return { ...ref, message_id: sent.message_id };
  const received = await deps.messages.getMessage(inboundMessageId(channel, ref.provider_message_id));
  return received ? { ...ref, message_id: received.message_id } : ref;
}

import type { Bus, OutgoingRecord } from '../core/ports/bus.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { Delivery, Message, StatusEvent } from '../core/domain/types.ts';
import type { Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { realtimeRecord, statusChangedRecord } from '../core/publish-realtime.ts';
import { IDENTITY_CODE_REFERENCE } from '../core/records.ts';
import { TOPICS } from '../core/topics.ts';
import type { ChannelConnector, ProviderStatusUpdate } from './channel-connector.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { statusWrites } from './coalesced-writes.ts';
import type { RecentSends } from './recent-sends.ts';

/** What taking a webhook's provider statuses needs: only the ports it touches. */
export interface StatusIntakeDeps {
  config: Pick<Config, 'providerStatusMatchWindowMs'>;
  messages: Pick<MessageStore, 'getMessage'>;
  deliveries: Pick<DeliveryStore, 'findDeliveryByProviderRef' | 'getDelivery' | 'recordProviderRef' | 'applyStatuses'>;
  conversations: Pick<ConversationStore, 'getConversation'>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
  /** The sends this process made lately: their statuses are matched without reading the store. */
  recentSends?: RecentSends;
}

/** A status matched to our delivery, with the time and trace id of the message it belongs to. */
interface Matched {
  event: StatusEvent;
  message: Pick<Message, 'created_at' | 'trace_id'> | null;
}

/**
 * Applies the statuses of one provider webhook where they arrive: matched to our deliveries,
 * applied in one store call (forward only, `core/domain/status.ts`; a replay or a late status
 * changes nothing), and only then told to the push gateways, in one produce — so a 200 to the
 * provider means the statuses are in the store (the statuses of the webhooks that arrive in one
 * turn of the event loop share one store call). Client webhooks (`message.delivered`, …) follow
 * from the store's history. A status for a send not recorded yet, within
 * `PROVIDER_STATUS_MATCH_WINDOW_MS` of its time, throws a retriable 503 after the others were
 * applied, so the provider sends the webhook again; after the window it is acknowledged and
 * counted in `provider_status_unmatched_total`.
 */
export async function takeStatuses(deps: StatusIntakeDeps, connector: ChannelConnector, statuses: ProviderStatusUpdate[]): Promise<void> {
  const channel = connector.channel;
  const reads = webhookReads(deps, connector);
  const found = await Promise.all(statuses.map((s) => matchStatus(deps, connector, reads, s)));
  const matched = found.filter((m): m is Matched => m !== null && m !== 'unknown' && m !== 'skipped');
  const unknown = found.filter((m) => m === 'unknown').length;

  if (matched.length > 0) {
    const started = performance.now();
    // With the statuses of the other webhooks of this turn: one store write for them all.
    const results = await statusWrites(deps.deliveries)(matched.map((m) => m.event));
    deps.metrics.statusApplyDuration.observe((performance.now() - started) / 1000);
    const members = new Map<string, Promise<string[]>>();
    const membersOf = (conversationId: string) => {
      let p = members.get(conversationId);
      if (!p) members.set(conversationId, (p = deps.conversations.getConversation(conversationId).then((c) => c?.members ?? [])));
      return p;
    };
    const records: OutgoingRecord[] = [];
    for (const [i, { applied, delivery }] of results.entries()) {
      const { event, message } = matched[i]!;
      deps.metrics.statusEvents.inc({ status: event.status, result: applied ? 'applied' : delivery ? 'ignored' : 'unknown' });
      if (!delivery) continue;
      if (applied && event.status === 'DELIVERED' && message) {
        const seconds = (Date.parse(event.at) - Date.parse(message.created_at)) / 1000;
        if (seconds >= 0) deps.metrics.deliveryLatency.observe({ channel }, seconds);
      }
      // Also when already at this status: the first try may have died before telling the gateways.
      if (applied || delivery.status === event.status) {
        const record = statusChangedRecord(deps.clock, delivery, event, await membersOf(delivery.conversation_id));
        // The message's trace id goes on with the status, so one trace covers the round trip.
        // realtimeRecord adds the members header: a gateway skips, undecoded, a status nobody connected to it is told.
        records.push(realtimeRecord(record, message?.trace_id ? { trace_id: message.trace_id } : {}));
      }
      deps.logger.debug({ message_id: delivery.message_id, trace_id: message?.trace_id, delivery_id: delivery.delivery_id, status: event.status, applied }, 'provider status applied');
    }
    if (records.length > 0) await deps.bus.publish(TOPICS.realtime, records);
  }

  if (unknown > 0) {
    deps.metrics.webhooks.inc({ channel, result: 'unknown_message' });
    throw new AppError('unknown_message', `${unknown} status(es) name a message not recorded yet; retry later`, {
      status: 503,
      retriable: true,
      headers: { 'Retry-After': '1' },
    });
  }
}

/**
 * The store reads of one webhook, each made once: its statuses often name one send several times
 * (sent, delivered, read piled up behind a busy receiver).
 */
function webhookReads(deps: StatusIntakeDeps, connector: ChannelConnector) {
  const deliveries = new Map<string, Promise<Delivery | null>>();
  const messages = new Map<string, Promise<Message | null>>();
  const once = <T>(cache: Map<string, Promise<T>>, key: string, read: () => Promise<T>) => {
    let p = cache.get(key);
    if (!p) cache.set(key, (p = read()));
    return p;
  };
  return {
    deliveryOf: (s: ProviderStatusUpdate) => once(deliveries, `${s.provider_message_id}\n${s.reference ?? ''}`, () => findDelivery(deps, connector, s)),
    messageOf: (messageId: string) => once(messages, messageId, () => deps.messages.getMessage(messageId)),
  };
}

/** The delivery a provider's status is about: by its provider id, or by the reference it echoed. */
async function findDelivery(deps: StatusIntakeDeps, connector: ChannelConnector, s: ProviderStatusUpdate): Promise<Delivery | null> {
  const channel = connector.channel;
  const delivery = await deps.deliveries.findDeliveryByProviderRef(channel, s.provider_message_id);
  if (delivery || !s.reference) return delivery;
  // The provider echoed our reference: a send whose answer we never recorded (a crash) is matched now.
  const candidate = await deps.deliveries.getDelivery(s.reference);
  if (!candidate || candidate.channel !== channel || !(await deps.deliveries.recordProviderRef(candidate.delivery_id, s.provider_message_id))) return null;
  deps.metrics.ambiguous.inc({ channel, outcome: 'recovered' });
  deps.logger.info({ delivery_id: candidate.delivery_id, provider_message_id: s.provider_message_id }, 'recovered a send from the provider echo');
  return { ...candidate, provider_message_id: s.provider_message_id };
}

/** The delivery a status belongs to; `unknown` when not (yet) found within the match window; `skipped` when acknowledged unmatched. */
async function matchStatus(
  deps: StatusIntakeDeps,
  connector: ChannelConnector,
  reads: ReturnType<typeof webhookReads>,
  s: ProviderStatusUpdate,
): Promise<Matched | 'unknown' | 'skipped' | null> {
  const channel = connector.channel;
  const event = (deliveryId: string): StatusEvent => ({ delivery_id: deliveryId, status: s.status, at: isoAt(deps.clock.now()), error: s.error, source: 'provider' });
  const recent = await deps.recentSends?.find(channel, s.provider_message_id);
  if (recent) return { event: event(recent.delivery_id), message: recent };
  const delivery = await reads.deliveryOf(s);
  if (!delivery && s.reference?.startsWith(IDENTITY_CODE_REFERENCE)) {
    // A one-time identity code: sent once, tracked nowhere.
    deps.metrics.statusUnmatched.inc({ channel, reason: 'identity_code' });
    return 'skipped';
  }
  if (!delivery) {
    if (withinMatchWindow(deps, s.at)) return 'unknown';
    deps.metrics.statusUnmatched.inc({ channel, reason: 'unknown_message' });
    deps.logger.info({ channel, provider_message_id: s.provider_message_id, at: s.at }, 'provider status matches no send; acknowledged');
    return 'skipped';
  }
  return { event: event(delivery.delivery_id), message: await reads.messageOf(delivery.message_id) };
}

/** A time we cannot read counts as now: the provider gets its retries rather than a silent ack. */
function withinMatchWindow(deps: StatusIntakeDeps, at: string): boolean {
  const t = Date.parse(at);
  return !Number.isFinite(t) || deps.clock.now() - t <= deps.config.providerStatusMatchWindowMs;
}

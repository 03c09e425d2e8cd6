import type { Bus } from '../core/ports/bus.ts';
import type { LegacyStore as MessageStore } from '../core/ports/legacy-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import { planDeliveries } from '../core/domain/routing.ts';
import type { Delivery, ExternalChannel, Message } from '../core/domain/types.ts';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { deliveryTopic } from '../core/topics.ts';
import type { DeliveryJob } from '../core/records.ts';
import type { Logger } from '../core/logger.ts';
import { messageLogger } from '../core/logger.ts';
import type { RouterMetrics } from './metrics.ts';
import type { DeadLetterMetrics } from '../core/dead-letters.ts';
import type { RouterTestOnly } from './experiment-switches.ts';

export interface RouterDeps {
  store: MessageStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: RouterMetrics;
  deadLetters: DeadLetterMetrics;
  /** Test- and experiment-only behaviour (`routerTestOnly(config)`); absent means all off. */
  testOnly?: RouterTestOnly;
}

/**
 * Routes one accepted message: gives it the conversation's next sequence number, expands it
 * into deliveries (recipient × channel) and hands the external ones to their connectors.
 * Safe to run twice for one message: the store keeps the first routing, and deliveries not yet
 * accepted by a provider are handed over again (connectors skip what they already sent).
 */
export async function routeMessage(deps: RouterDeps, messageId: string): Promise<'routed' | 'duplicate' | 'missing'> {
  const started = performance.now();
  const message = await deps.store.getMessage(messageId);
  if (!message) {
    deps.logger.warn({ message_id: messageId }, 'accepted record names a message the store does not have');
    deps.metrics.processed.inc({ status: 'missing' });
    return 'missing';
  }
  // Messages of this conversation accepted earlier but not yet ordered (their record was lost or
  // is late) take their seq first, so seq order is acceptance order. Off only under the
  // experiments' sabotage (CHAOS_DISABLE_RECOVERY).
  if (!deps.testOnly?.disableRecovery) {
    for (const older of await deps.store.listUnroutedBefore(message.message_id)) {
      await routeOne(deps, older);
    }
  }
  const outcome = await routeOne(deps, message);
  deps.metrics.processed.inc({ status: outcome });
  deps.metrics.processingDuration.observe((performance.now() - started) / 1000);
  return outcome;
}

async function routeOne(deps: RouterDeps, message: Message): Promise<'routed' | 'duplicate'> {
  const log = messageLogger(deps.logger, message);
  const conversation = await deps.store.getConversation(message.conversation_id);
  const members = conversation?.members ?? [];
  const identities = await deps.store.listIdentities(members.filter((m) => m !== message.sender_id));
  const plan = planDeliveries({ senderId: message.sender_id, members, requested: message.channels, identities });

  const writeStarted = performance.now();
  await deps.testOnly?.storeRoundTrip();
  const routed = await deps.store.routeMessage(message.message_id, plan, isoAt(deps.clock.now()));
  deps.metrics.storeWriteDuration.observe({ operation: 'route' }, (performance.now() - writeStarted) / 1000);

  await dispatch(deps, { ...message, seq: routed.seq }, routed.deliveries);
  const outcome = routed.routedNow ? 'routed' : 'duplicate';
  log.debug({ seq: routed.seq, deliveries: routed.deliveries.length, outcome }, 'message routed');
  return outcome;
}

/** Publishes a delivery job for every external delivery no provider has accepted yet. */
export async function dispatch(deps: Pick<RouterDeps, 'bus' | 'metrics'>, message: Message, deliveries: Delivery[]) {
  const byChannel = new Map<ExternalChannel, DeliveryJob[]>();
  for (const d of deliveries) {
    if (!isExternal(d.channel) || d.status !== 'SENT' || d.provider_message_id || !d.address) continue;
    const job: DeliveryJob = {
      delivery_id: d.delivery_id,
      message_id: message.message_id,
      conversation_id: message.conversation_id,
      seq: message.seq ?? 0,
      channel: d.channel,
      recipient_id: d.recipient_id,
      to: d.address,
      payload: message.payload,
      accepted_at: message.created_at,
      trace_id: message.trace_id,
    };
    const list = byChannel.get(d.channel) ?? [];
    list.push(job);
    byChannel.set(d.channel, list);
  }
  for (const [channel, jobs] of byChannel) {
    await deps.bus.publish(
      deliveryTopic(channel),
      jobs.map((j) => ({ key: j.conversation_id, value: JSON.stringify(j), headers: { trace_id: j.trace_id } })),
    );
    deps.metrics.dispatched.inc({ channel }, jobs.length);
  }
}

export function isExternal(channel: string): channel is ExternalChannel {
  return (EXTERNAL_CHANNELS as readonly string[]).includes(channel);
}

import type { StatusEvent } from '../core/domain/types.ts';
import type { RouterDeps } from './route-message.ts';
import { publishStatusChanged } from '../core/publish-realtime.ts';

/**
 * Applies a status event from a connector. The store enforces the forward-only rule, so a late,
 * shuffled or repeated event changes nothing and adds no history entry.
 */
export async function applyStatus(deps: Pick<RouterDeps, 'deliveries' | 'messages' | 'conversations' | 'bus' | 'clock' | 'logger' | 'metrics'>, event: StatusEvent): Promise<boolean> {
  const started = performance.now();
  const { applied, delivery } = await deps.deliveries.applyStatus(event);
  deps.metrics.storeWriteDuration.observe({ operation: 'status' }, (performance.now() - started) / 1000);
  deps.metrics.statusEvents.inc({ status: event.status, result: applied ? 'applied' : delivery ? 'ignored' : 'unknown' });
  if (applied && delivery && event.status === 'DELIVERED') {
    const message = await deps.messages.getMessage(delivery.message_id);
    if (message) {
      const seconds = (Date.parse(event.at) - Date.parse(message.created_at)) / 1000;
      if (seconds >= 0) deps.metrics.deliveryLatency.observe({ channel: delivery.channel }, seconds);
    }
  }
  // Also when not applied but already at this status: the first try may have died before telling the gateways.
  if (delivery && (applied || delivery.status === event.status)) {
    const conversation = await deps.conversations.getConversation(delivery.conversation_id);
    await publishStatusChanged(deps, delivery, event, conversation?.members ?? []);
  }
  if (!delivery) deps.logger.warn({ delivery_id: event.delivery_id }, 'status event for an unknown delivery');
  return applied;
}

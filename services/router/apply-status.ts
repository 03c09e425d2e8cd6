import type { StatusEvent } from '../core/domain/types.ts';
import type { OutgoingRecord } from '../core/ports/bus.ts';
import type { ApplyResult } from '../core/ports/delivery-store.ts';
import type { RouterDeps } from './route-message.ts';
import { realtimeRecord, statusChangedRecord } from '../core/publish-realtime.ts';
import { TOPICS } from '../core/topics.ts';

type StatusDeps = Pick<RouterDeps, 'deliveries' | 'messages' | 'conversations' | 'bus' | 'clock' | 'logger' | 'metrics'>;

/**
 * Applies a status event from a gateway (an in-app ack or read). The store enforces the
 * forward-only rule, so a late, shuffled or repeated event changes nothing and adds no history entry.
 */
export async function applyStatus(deps: StatusDeps, event: StatusEvent): Promise<boolean> {
  const [applied] = await applyStatuses(deps, [event]);
  return applied!;
}

/**
 * `applyStatus` for a fetched batch of status events, in order: one store call
 * (`DeliveryStore.applyStatuses`), one membership read per conversation and one publish to the
 * gateways for the lot. Returns whether each event applied.
 */
export async function applyStatuses(deps: StatusDeps, events: StatusEvent[]): Promise<boolean[]> {
  const started = performance.now();
  const results = await deps.deliveries.applyStatuses(events);
  deps.metrics.storeWriteDuration.observe({ operation: 'status' }, (performance.now() - started) / 1000);
  const members = new Map<string, Promise<string[]>>();
  const membersOf = (conversationId: string) => {
    let p = members.get(conversationId);
    if (!p) members.set(conversationId, (p = deps.conversations.getConversation(conversationId).then((c) => c?.members ?? [])));
    return p;
  };
  const records: OutgoingRecord[] = [];
  for (const [i, event] of events.entries()) {
    const { applied, delivery } = results[i] as ApplyResult;
    deps.metrics.statusEvents.inc({ status: event.status, result: applied ? 'applied' : delivery ? 'ignored' : 'unknown' });
    if (!delivery) {
      deps.logger.warn({ delivery_id: event.delivery_id }, 'status event for an unknown delivery');
      continue;
    }
    if (applied && event.status === 'DELIVERED') {
      const message = await deps.messages.getMessage(delivery.message_id);
      if (message) {
        const seconds = (Date.parse(event.at) - Date.parse(message.created_at)) / 1000;
        if (seconds >= 0) deps.metrics.deliveryLatency.observe({ channel: delivery.channel }, seconds);
      }
    }
    // Also when not applied but already at this status: the first try may have died before telling the gateways.
    if (applied || delivery.status === event.status) {
      records.push(realtimeRecord(statusChangedRecord(deps.clock, delivery, event, await membersOf(delivery.conversation_id))));
    }
  }
  if (records.length > 0) await deps.bus.publish(TOPICS.realtime, records);
  return results.map((r) => r.applied);
}

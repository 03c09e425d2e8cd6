import type { PlannedDelivery } from './routing.ts';
import type { Delivery, HistoryEntry, Message } from './types.ts';

/**
 * The delivery a plan entry becomes when its message is routed: SENT, or FAILED with the plan's
 * reason when the recipient cannot be reached on the requested channels. Every store creates
 * deliveries through this, so the rule lives in one place.
 */
export function newDelivery(
  plan: PlannedDelivery,
  ids: { delivery_id: string; message_id: string; conversation_id: string },
  at: string,
): Delivery {
  return {
    ...ids,
    recipient_id: plan.recipient_id,
    channel: plan.channel,
    address: plan.address,
    status: plan.failed ? 'FAILED' : 'SENT',
    provider_message_id: null,
    error: plan.failed ?? null,
    updated_at: at,
    in_flight_since: null,
    next_attempt_at: null,
  };
}

/** The history entry a new delivery starts with. */
export const firstHistoryEntry = (d: Delivery): HistoryEntry => ({
  status: d.status,
  at: d.updated_at,
  recipient_id: d.recipient_id,
  channel: d.channel,
  delivery_id: d.delivery_id,
  ...(d.error ? { error: d.error } : {}),
});

/** The entry every message's history starts with: accepted (SENT) when it was created. */
export const acceptedHistoryEntry = (m: Pick<Message, 'created_at'>): HistoryEntry => ({ status: 'SENT', at: m.created_at });

/**
 * Whether an external delivery still waits for its provider to accept it: SENT and no provider
 * message id yet (internal deliveries never wait for a provider).
 */
export const awaitsProvider = (d: Pick<Delivery, 'channel' | 'status' | 'provider_message_id'>): boolean =>
  d.channel !== 'internal' && d.status === 'SENT' && d.provider_message_id === null;

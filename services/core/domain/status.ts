import type { Delivery, DeliveryStatus } from './types.ts';

const RANK: Record<DeliveryStatus, number> = { SENT: 1, DELIVERED: 2, READ: 3, FAILED: 1.5 };

/**
 * Whether a delivery may move from `from` to `to`. Status only moves forward:
 * SENT → DELIVERED → READ (steps may be skipped, e.g. Instagram goes SENT → READ);
 * FAILED is reachable only before anything was delivered and is final.
 * A repeated status is not a transition.
 */
export function canTransition(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (from === to) return false;
  if (from === 'FAILED') return false;
  if (to === 'FAILED') return from === 'SENT';
  return RANK[to] > RANK[from];
}

/** Whether a delivery in this status has already reached its recipient. */
export function isDelivered(status: DeliveryStatus): boolean {
  return status === 'DELIVERED' || status === 'READ';
}

/**
 * The message-level status from its deliveries:
 * READ once every recipient has read it on some channel, DELIVERED once every recipient has
 * a delivered delivery, FAILED when some recipient has no delivery left that can succeed,
 * SENT otherwise (and while there are no deliveries yet).
 */
export function summarizeStatus(deliveries: Pick<Delivery, 'recipient_id' | 'status'>[]): DeliveryStatus {
  if (deliveries.length === 0) return 'SENT';
  const byRecipient = new Map<string, DeliveryStatus[]>();
  for (const d of deliveries) {
    const list = byRecipient.get(d.recipient_id) ?? [];
    list.push(d.status);
    byRecipient.set(d.recipient_id, list);
  }
  const recipients = [...byRecipient.values()];
  if (recipients.some((s) => s.every((x) => x === 'FAILED'))) return 'FAILED';
  if (recipients.every((s) => s.includes('READ'))) return 'READ';
  if (recipients.every((s) => s.some(isDelivered))) return 'DELIVERED';
  return 'SENT';
}

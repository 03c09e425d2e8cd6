import { EXTERNAL_CHANNELS, type Channel, type DeliveryError, type Identity } from './types.ts';

export interface PlannedDelivery {
  recipient_id: string;
  channel: Channel;
  address: string | null;
  /** Set when the recipient cannot be reached on any requested channel. */
  failed?: DeliveryError;
}

/**
 * Expands a message into deliveries: one per recipient × channel the recipient can be
 * reached on. `all` means our own channel plus every external identity the recipient linked.
 * A recipient reachable on none of the requested channels gets one FAILED delivery that says why,
 * so the sender sees it instead of silence.
 */
export function planDeliveries(input: {
  senderId: string;
  members: string[];
  requested: string[];
  identities: Identity[];
}): PlannedDelivery[] {
  const wantsAll = input.requested.includes('all');
  const wanted = new Set<Channel>(wantsAll ? ['internal', ...EXTERNAL_CHANNELS] : (input.requested as Channel[]));
  const plan: PlannedDelivery[] = [];
  for (const recipient of input.members) {
    if (recipient === input.senderId) continue;
    const mine: PlannedDelivery[] = [];
    if (wanted.has('internal')) mine.push({ recipient_id: recipient, channel: 'internal', address: null });
    for (const channel of EXTERNAL_CHANNELS) {
      if (!wanted.has(channel)) continue;
      for (const id of input.identities) {
        if (id.user_id === recipient && id.channel === channel) {
          mine.push({ recipient_id: recipient, channel, address: id.address });
        }
      }
    }
    if (mine.length === 0) {
      const first = (input.requested[0] ?? 'internal') as Channel;
      mine.push({
        recipient_id: recipient,
        channel: first,
        address: null,
        failed: {
          code: 'recipient_unreachable',
          message: `recipient ${recipient} has no identity on the requested channels (${input.requested.join(', ')})`,
        },
      });
    }
    plan.push(...mine);
  }
  return plan;
}

import { inboundPayloadText } from '../core/domain/inbound-payload.ts';
import type { Payload, SendablePayload } from '../core/domain/types.ts';
import type { DeliveryJob } from '../core/records.ts';

/** A delivery as a channel sends it: a text or a file. */
export type ChannelJob = Omit<DeliveryJob, 'payload'> & { payload: SendablePayload };

/**
 * What a connector sends for a message's payload. A text or a file goes as it is; what only an
 * external user can send (a provider's media, a location, a reaction, an edit…) goes as its text
 * (`inboundPayloadText`): Maria's WhatsApp photo reaches Bob on Instagram as "[an image] a praia",
 * since the provider's media id means nothing to another provider.
 */
export function forChannel(payload: Payload): SendablePayload {
  return payload.type === 'text' || payload.type === 'file' ? payload : { type: 'text', text: inboundPayloadText(payload) };
}

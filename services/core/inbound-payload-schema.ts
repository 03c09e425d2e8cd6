import { z } from 'zod';
import { PROVIDER_MEDIA_KINDS, type InboundOnlyPayload } from './domain/inbound-payload.ts';

const messageRef = z.object({ provider_message_id: z.string().min(1), message_id: z.string().min(1).optional() });

/**
 * The inbound-only payloads (`domain/inbound-payload.ts`) as records carry them: a delivery job
 * of a message an external user wrote holds one of these, and the connector renders it for its
 * channel. Not part of the API's send validation.
 */
export const inboundPayloadSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('media'),
    media: z.object({
      kind: z.enum(PROVIDER_MEDIA_KINDS),
      provider_media_id: z.string().min(1).optional(),
      url: z.string().min(1).optional(),
      mime_type: z.string().optional(),
      sha256: z.string().optional(),
      filename: z.string().optional(),
      voice: z.boolean().optional(),
    }),
    caption: z.string().optional(),
  }),
  z.object({
    type: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().optional(),
    address: z.string().optional(),
    url: z.string().optional(),
  }),
  z.object({ type: z.literal('contacts'), contacts: z.array(z.object({ name: z.string(), phones: z.array(z.string()) })).min(1) }),
  z.object({ type: z.literal('reaction'), reacts_to: messageRef, emoji: z.string().nullable() }),
  z.object({ type: z.literal('edit'), edits: messageRef, text: z.string() }),
  z.object({ type: z.literal('deletion'), deletes: messageRef }),
  z.object({ type: z.literal('unsupported'), provider_type: z.string().optional(), reason: z.string() }),
]);

// The schema and the domain type must stay one shape: a field added to either fails the type check here.
const sameShape = <A, B>(_proof: [A] extends [B] ? ([B] extends [A] ? true : never) : never) => undefined;
sameShape<z.infer<typeof inboundPayloadSchema>, InboundOnlyPayload>(true);

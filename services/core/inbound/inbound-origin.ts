import { z } from 'zod';
import { EXTERNAL_CHANNELS, type Message } from '../domain/types.ts';

/**
 * Where an inbound message came from, kept in its `metadata.inbound` (the platform sets it; the
 * API refuses a client's message that tries to). In the metadata rather than new columns, so
 * existing SQLite files and Cassandra tables take inbound messages as they are.
 */
export const inboundOriginSchema = z.object({
  channel: z.enum(EXTERNAL_CHANNELS),
  from: z.string(),
  to: z.string().nullable(),
  profile_name: z.string().nullable(),
  provider_message_id: z.string(),
  /** RFC 3339 time the provider says the message was sent. */
  provider_timestamp: z.string(),
  /**
   * The provider's media (`{kind, provider_media_id | url, mime_type, sha256, …}`) of a message
   * whose media the connector fetched and stored as a platform file (`payload.type: "file"`).
   */
  provider_media: z.record(z.string(), z.unknown()).optional(),
});
export type InboundOrigin = z.infer<typeof inboundOriginSchema>;

/** The origin of an inbound message; null for a message sent through the API. */
export function inboundOrigin(m: Pick<Message, 'metadata'>): InboundOrigin | null {
  const parsed = inboundOriginSchema.safeParse(m.metadata?.inbound);
  return parsed.success ? parsed.data : null;
}

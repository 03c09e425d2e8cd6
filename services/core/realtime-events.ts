import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES } from './domain/types.ts';
import { inboundPayloadSchema } from './inbound-payload-schema.ts';

const payload = z.union([
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('file'), file_id: z.string(), caption: z.string().optional() }),
  inboundPayloadSchema,
]);

/**
 * A message a router has ordered, for every member of its conversation. `members` names each
 * member with its `internal` delivery (null for the sender and for members the message does not
 * go to in-app), so a gateway needs no store read to push it.
 */
export const messageCreatedEventSchema = z.object({
  type: z.literal('message.created'),
  conversation_id: z.string().min(1),
  message_id: z.string().min(1),
  seq: z.number().int().min(1),
  sender_id: z.string(),
  payload,
  created_at: z.string(),
  /** When the router ordered it (ms since epoch): push latency is measured from here. */
  routed_at: z.number(),
  members: z.array(z.object({ user_id: z.string(), delivery_id: z.string().nullable() })),
});

/** A status the router applied to one delivery (forward-only), for every member of the conversation. */
export const messageStatusEventSchema = z.object({
  type: z.literal('message.status'),
  conversation_id: z.string().min(1),
  message_id: z.string().min(1),
  recipient_id: z.string(),
  channel: z.enum(CHANNELS),
  status: z.enum(DELIVERY_STATUSES),
  at: z.string(),
  routed_at: z.number(),
  members: z.array(z.string()),
});

/** Someone is typing in a conversation (relayed by a gateway, never stored). */
export const typingEventSchema = z.object({
  type: z.literal('typing'),
  conversation_id: z.string().min(1),
  user_id: z.string(),
  routed_at: z.number(),
  members: z.array(z.string()),
});

/** A record on the realtime topic (`TOPICS.realtime`), keyed by conversation. */
export const realtimeEventSchema = z.discriminatedUnion('type', [messageCreatedEventSchema, messageStatusEventSchema, typingEventSchema]);

export type MessageCreatedEvent = z.infer<typeof messageCreatedEventSchema>;
export type MessageStatusEvent = z.infer<typeof messageStatusEventSchema>;
export type TypingEvent = z.infer<typeof typingEventSchema>;
export type RealtimeEvent = z.infer<typeof realtimeEventSchema>;

/**
 * A gateway's presence heartbeat (`TOPICS.presence`, keyed by gateway): the users it holds
 * connections of (`online: true`), or users whose last connection there just closed
 * (`online: false`, with `last_seen`). Receivers keep an entry per user and gateway until
 * `ttl_ms` after they last heard of it, so a dead gateway's users go offline by themselves.
 */
export const presenceRecordSchema = z.object({
  gateway_id: z.string().min(1),
  /** When it was sent (ms since epoch). */
  at: z.number(),
  ttl_ms: z.number().int().positive(),
  users: z.array(z.object({ user_id: z.string(), online: z.boolean(), last_seen: z.string() })),
});

export type PresenceRecord = z.infer<typeof presenceRecordSchema>;

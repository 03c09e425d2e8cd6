import { z } from 'zod';
import { parseInboundDefaultMembers } from './inbound/default-members.ts';

/**
 * The settings of inbound messages (issue #13, docs/adr/0002-inbound-conversation-rule.md): who
 * receives them, the reply window, the router's reorder window and inbound media. Part of
 * `configFields` in config.ts.
 */
export const inboundConfigFields = {
  /**
   * Who receives a message from a WhatsApp or Instagram address that has no conversation in its
   * reply window: usernames per channel, `whatsapp=alice,bob;instagram=bob` (the business's
   * owners of that number or account). A channel not named gets its inbound messages in a
   * conversation with the sender alone, kept until an owner is added. Parsed and checked at
   * start (`parseInboundDefaultMembers`). @default '' (none)
   */
  inboundDefaultMembers: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseInboundDefaultMembers(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .describe('INBOUND_DEFAULT_MEMBERS'),
  /**
   * How long after an address last received a message from a conversation (a delivery the
   * provider accepted) its reply still goes to that conversation: Meta's customer-service
   * window. @default 24
   */
  inboundReplyWindowHours: z.coerce.number().min(0).max(24 * 30).default(24).describe('INBOUND_REPLY_WINDOW_HOURS'),
  /**
   * How long the router holds an inbound message before giving it its seq, so that one that
   * arrives late (Meta delivers webhooks out of order) but was sent earlier can take its place
   * first: two inbound messages of one conversation accepted less than this apart are ordered by
   * provider time. 0 orders by arrival. @default 2000
   */
  inboundReorderWindowMs: z.coerce.number().int().min(0).max(60_000).default(2000).describe('INBOUND_REORDER_WINDOW_MS'),
  /**
   * Largest inbound media the connectors fetch from a provider and store as a file: the largest
   * channel media limit (WhatsApp documents, 100 MB). A larger one keeps the provider reference.
   * @default 104857600 (100 MiB)
   */
  inboundMediaMaxBytes: z.coerce.number().int().min(1).max(2 * 1024 ** 3).default(100 * 1024 * 1024).describe('INBOUND_MEDIA_MAX_BYTES'),
  /** How long fetching and storing one inbound media may take, body included, in ms. @default 60000 */
  inboundMediaTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(60_000).describe('INBOUND_MEDIA_TIMEOUT_MS'),
  /**
   * Deliveries of a webhook whose media could not be fetched or stored (each answered 503, so
   * the provider retries) before its message is accepted with the provider reference kept.
   * @default 3
   */
  inboundMediaAttempts: z.coerce.number().int().min(1).max(100).default(3).describe('INBOUND_MEDIA_ATTEMPTS'),
};

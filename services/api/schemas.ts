import { z } from 'zod';
import { inboundPayloadSchema } from '../core/inbound-payload-schema.ts';
import { DELIVERY_STATUSES, EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { anyLoneSurrogate, hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from '../core/lone-surrogates.ts';

/**
 * Every request and response shape of the public API, declared once. The routes validate with
 * the request schemas and `openapi.ts` generates the OpenAPI document from the very same objects,
 * so the document cannot drift from what the API accepts.
 */

/**
 * Most members a request may name, whatever the configuration; the limit a group is held to is
 * `MAX_GROUP_MEMBERS` (256 by default, at most this), checked at write time.
 */
export const MAX_GROUP_MEMBERS_CEILING = 1024;
/** Longest text message, in characters (Unicode code points). */
export const MAX_TEXT_CHARS = 4096;
export const MAX_CAPTION_CHARS = 1024;

/** Channels a sender may ask for: the real channels plus `all`. */
export const REQUESTED_CHANNELS = ['internal', 'whatsapp', 'instagram', 'all'] as const;

/** The named schemas: each becomes one entry of the OpenAPI document's `components.schemas`. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

/**
 * A text field of a request: well-formed Unicode only (a lone surrogate answers 400; see
 * docs/api.md, "Limits"). Every string a client sends goes through this or a regex that admits
 * ASCII only.
 */
export const text = () => z.string().refine((s) => !hasLoneSurrogate(s), LONE_SURROGATE_MESSAGE);

const metadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => !anyLoneSurrogate(m), LONE_SURROGATE_MESSAGE)
  .describe('Free-form JSON object stored with the resource.');
// Responses hold what was stored, so they need no check.
const metadata = z.record(z.string(), z.unknown()).describe('Free-form JSON object stored with the resource.');
const timestamp = z.string().describe('RFC 3339 time in UTC.');
const codePoints = (s: string) => Array.from(s).length;

// ---------------------------------------------------------------- auth

export const registerRequest = z
  .object({
    username: z
      .string()
      .regex(/^[a-z0-9_.-]{3,32}$/, 'must be 3–32 characters of a-z 0-9 _ . -')
      .describe('3–32 characters of a-z 0-9 _ . -'),
    // The upper bound keeps one request from making scrypt hash megabytes.
    password: text().min(8, 'must be at least 8 characters').max(1024),
    email: z.email().max(254).optional(),
  })
  .register(apiSchemas, { id: 'RegisterRequest' });

export const userCreated = z
  .object({ user_id: z.string(), username: z.string(), role: z.enum(['user', 'admin']), created_at: timestamp })
  .register(apiSchemas, { id: 'UserCreated' });

/** `GET /v1/users?username=`: one exact username, never a listing. */
export const findUserQuery = z.object({ username: text().min(1).max(64).describe('the exact username') }).register(apiSchemas, { id: 'FindUserQuery' });
export const userFound = z.object({ user_id: z.string(), username: z.string() }).register(apiSchemas, { id: 'UserFound' });

const passwordGrant = z.object({ username: text().min(1).max(64), password: text().min(1).max(1024) });
const clientGrant = z.object({ client_id: text().min(1).max(128), client_secret: text().min(1).max(1024) });
export const tokenRequest = z.union([passwordGrant, clientGrant]).register(apiSchemas, { id: 'TokenRequest' });
export type TokenRequest = z.infer<typeof tokenRequest>;

export const tokenResponse = z
  .object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() })
  .register(apiSchemas, { id: 'TokenResponse' });

// ---------------------------------------------------------------- identities

export const E164 = /^\+[0-9]{8,15}$/;
export const INSTAGRAM_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export const identityRequest = z
  .discriminatedUnion('channel', [
    z.object({
      channel: z.literal('whatsapp'),
      address: z.string().regex(E164, 'must be an E.164 number: + and 8–15 digits').describe('E.164, e.g. +5511999990001'),
    }),
    z.object({
      channel: z.literal('instagram'),
      address: z.string().regex(INSTAGRAM_ID, 'must be 1–64 characters of A-Z a-z 0-9 _ . -').describe('Instagram account id'),
    }),
  ])
  .register(apiSchemas, { id: 'IdentityRequest' });

export const identityView = z
  .object({
    channel: z.enum(EXTERNAL_CHANNELS),
    address: z.string(),
    linked_at: timestamp,
    verified: z.boolean().describe('false: pending until the one-time code sent through the channel comes back (POST …/verify); a pending link receives nothing'),
    expires_at: timestamp.optional().describe('pending links only: when the code expires'),
  })
  .register(apiSchemas, { id: 'Identity' });
export const verifyIdentityRequest = z
  .object({ code: text().regex(/^[0-9]{6}$/, 'must be the 6 digits the channel received').describe('the 6-digit one-time code') })
  .register(apiSchemas, { id: 'VerifyIdentityRequest' });
export const identityList = z.object({ identities: z.array(identityView) }).register(apiSchemas, { id: 'IdentityList' });

// ---------------------------------------------------------------- conversations

export const createConversationRequest = z
  .object({
    type: z.enum(['private', 'group']),
    members: z
      .array(text().min(1).max(128))
      .max(MAX_GROUP_MEMBERS_CEILING)
      .describe('User ids; the caller is added. A private conversation has exactly two members.'),
    name: text().min(1).max(200).optional(),
    metadata: metadataSchema.optional(),
  })
  .register(apiSchemas, { id: 'CreateConversationRequest' });

export const addMemberRequest = z.object({ user_id: text().min(1).max(128) }).register(apiSchemas, { id: 'AddMemberRequest' });

export const conversationView = z
  .object({
    conversation_id: z.string(),
    type: z.enum(['private', 'group']),
    members: z.array(z.string()).describe('Member ids: users, and contacts (listed again in `contacts`).'),
    contacts: z
      .array(
        z
          .object({
            contact_id: z.string(),
            channel: z.enum(EXTERNAL_CHANNELS),
            address: z.string().describe('The WhatsApp number or Instagram account the contact wrote from.'),
            display_name: z.string().nullable().describe('The name of the provider profile, when it gave one.'),
          })
          .register(apiSchemas, { id: 'Contact' }),
      )
      .describe('The members who are contacts: people who wrote on WhatsApp or Instagram and have no account (no password, one address).'),
    name: z.string().nullable(),
    metadata: metadata.nullable(),
    created_at: timestamp,
  })
  .register(apiSchemas, { id: 'Conversation' });
export const conversationList = z
  .object({
    conversations: z.array(conversationView),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next page; null on the last page.'),
  })
  .register(apiSchemas, { id: 'ConversationList' });

/** Most conversations in one page of `GET /v1/conversations`, and how many when `limit` is absent. */
export const CONVERSATION_PAGE = { default: 50, max: 200 } as const;

/** A cursor is the base64url of the last conversation id of the previous page (opaque to clients). */
export const encodeConversationCursor = (conversationId: string) => Buffer.from(conversationId, 'utf8').toString('base64url');

export const listConversationsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(CONVERSATION_PAGE.max).default(CONVERSATION_PAGE.default),
    cursor: z
      .string()
      .max(256)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a next_cursor from a previous page')
      .transform((c, ctx) => {
        const id = Buffer.from(c, 'base64url').toString('utf8');
        if (id.length === 0 || encodeConversationCursor(id) !== c) {
          ctx.addIssue({ code: 'custom', message: 'must be a next_cursor from a previous page' });
          return z.NEVER;
        }
        return id;
      })
      .optional()
      .describe('The `next_cursor` of the previous page; absent for the first page.'),
  })
  .register(apiSchemas, { id: 'ListConversationsQuery' });

export const listMessagesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    after_seq: z.coerce.number().int().min(0).default(0),
  })
  .register(apiSchemas, { id: 'ListMessagesQuery' });

// ---------------------------------------------------------------- messages

export const payloadSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('text'),
      text: text()
        .min(1, 'must not be empty')
        .refine((s) => codePoints(s) <= MAX_TEXT_CHARS, `must be at most ${MAX_TEXT_CHARS} characters`)
        .meta({ maxLength: MAX_TEXT_CHARS }),
    }),
    z.object({
      type: z.literal('file'),
      file_id: text().min(1).max(128),
      caption: text()
        .refine((s) => codePoints(s) <= MAX_CAPTION_CHARS, `must be at most ${MAX_CAPTION_CHARS} characters`)
        .meta({ maxLength: MAX_CAPTION_CHARS })
        .optional(),
    }),
  ])
  .register(apiSchemas, { id: 'Payload' });

/**
 * What a message read back says: a client's payload, or one only an external user can send
 * (a message that came in from WhatsApp or Instagram). Sending keeps to {@link payloadSchema}.
 */
export const messagePayloadView = z
  .union([payloadSchema, inboundPayloadSchema.register(apiSchemas, { id: 'InboundPayload' })])
  .register(apiSchemas, { id: 'MessagePayload' });

export const sendMessageRequest = z
  .object({
    message_id: z.uuid().optional().describe('Made by the API when absent; resending the same id never makes a second message.'),
    conversation_id: text().min(1).max(128),
    channels: z
      .array(z.enum(REQUESTED_CHANNELS))
      .min(1)
      .max(REQUESTED_CHANNELS.length)
      .default(['all'])
      .superRefine((list, ctx) => {
        if (new Set(list).size !== list.length) ctx.addIssue({ code: 'custom', message: 'must not repeat a channel' });
        if (list.includes('all') && list.length > 1) ctx.addIssue({ code: 'custom', message: '"all" must be the only channel' });
      })
      .describe('Where recipients are reached; ["all"] means every channel each recipient has.'),
    payload: payloadSchema,
    metadata: metadataSchema
      .refine((m) => !Object.hasOwn(m, 'inbound'), 'the key "inbound" is reserved: the platform sets it on messages that arrive from WhatsApp or Instagram')
      .optional(),
  })
  .register(apiSchemas, { id: 'SendMessageRequest' });
export type SendMessageRequest = z.infer<typeof sendMessageRequest>;

export const messageAccepted = z
  .object({ status: z.literal('accepted'), message_id: z.string(), conversation_id: z.string(), accepted_at: timestamp })
  .register(apiSchemas, { id: 'MessageAccepted' });

const status = z.enum(DELIVERY_STATUSES);
const deliveryError = z.object({ code: z.string(), message: z.string() });

export const deliveryView = z
  .object({
    recipient_id: z.string(),
    channel: z.string(),
    status,
    provider_message_id: z.string().optional(),
    error: deliveryError.optional(),
    updated_at: timestamp,
  })
  .register(apiSchemas, { id: 'Delivery' });

export const historyView = z
  .object({
    status,
    at: timestamp,
    recipient_id: z.string().optional(),
    channel: z.string().optional(),
    error: deliveryError.optional(),
    fallback: z
      .literal('link')
      .optional()
      .describe('Set on an entry that notes a fallback, not a status change: the file went as a text with a download link.'),
    reason: z.literal('over_channel_limit').optional().describe('Why the fallback: the file is larger than the channel takes for its kind of media.'),
  })
  .register(apiSchemas, { id: 'HistoryEntry' });

export const messageView = z
  .object({
    message_id: z.string(),
    conversation_id: z.string(),
    seq: z.number().int().nullable().describe('Per-conversation order; null until the message is routed.'),
    sender_id: z.string(),
    payload: messagePayloadView,
    channels: z.array(z.string()),
    metadata: metadata.nullable(),
    created_at: timestamp,
    status,
    sender_kind: z
      .enum(['user', 'contact'])
      .describe('Whether `sender_id` is a user, or a contact: someone on WhatsApp or Instagram without an account.'),
    sender_name: z.string().nullable().describe('The username, or the contact\'s profile name; a contact merged into a user shows that user\'s username.'),
    sender_merged_into: z.string().optional().describe('For a contact that became a user (who verified its address): that user\'s id.'),
    inbound_channel: z.enum(EXTERNAL_CHANNELS).optional().describe('For a message that arrived from WhatsApp or Instagram: the channel (its origin is in `metadata.inbound`).'),
    provider_timestamp: timestamp.optional().describe('For a message that arrived from WhatsApp or Instagram: when the provider says it was sent.'),
    deliveries: z.array(deliveryView),
    history: z.array(historyView).optional().describe('Every status change, in time order (omitted in lists).'),
  })
  .register(apiSchemas, { id: 'Message' });

export const messagePage = z
  .object({ messages: z.array(messageView), next_after_seq: z.number().int(), has_more: z.boolean() })
  .register(apiSchemas, { id: 'MessagePage' });

// ---------------------------------------------------------------- health and errors

export const healthView = z.object({ status: z.literal('ok') }).register(apiSchemas, { id: 'Health' });

export const problemView = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .register(apiSchemas, { id: 'Problem', description: 'RFC 9457 problem details.' });

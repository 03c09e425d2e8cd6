import { randomIdBytes } from './random-pool.ts';
import { isHttpUrl, isRecord, type Parsed } from './json-body.ts';
import type { ReceivedMedia } from './received-log.ts';

/** Text body limit of the WhatsApp Cloud API, in characters. */
export const WHATSAPP_TEXT_MAX = 4096;
/** Media caption limit, in characters. */
export const WHATSAPP_CAPTION_MAX = 1024;
/** `biz_opaque_callback_data` limit, in characters. */
export const WHATSAPP_CALLBACK_DATA_MAX = 512;

const MEDIA_TYPES = ['image', 'document', 'audio', 'video'] as const;

/** Identity of the simulated WhatsApp Business account. */
export interface WhatsAppAccount {
  /** WhatsApp Business Account id, the webhook `entry[].id`. @default "100000000000001" */
  wabaId: string;
  /** Phone number id used in inbound webhooks (status webhooks echo the id from the send path). @default "100000000000002" */
  phoneNumberId: string;
  /** `metadata.display_phone_number`. @default "15550000000" */
  displayPhoneNumber: string;
}

/** A valid `POST /{version}/{phone_number_id}/messages` body. */
export type WhatsAppSend =
  | { kind: 'message'; input: string; waId: string; type: string; text?: string; media?: ReceivedMedia; callbackData?: string }
  | { kind: 'mark_read'; messageId: string };

/** Status values the simulator emits. */
export type WhatsAppStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** One entry of a `failed` status's `errors[]`, as the Cloud API reports it. */
export interface WhatsAppStatusError {
  code: number;
  title: string;
  details: string;
}

/** A new message id shaped like WhatsApp's `wamid.…`. */
export function newWamid(): string {
  return `wamid.HBg${randomIdBytes(27).toString('base64')}`;
}

/** Counts characters as code points, so an emoji is one character. */
function charCount(s: string): number {
  return [...s].length;
}

/** Strips the `+` of a WhatsApp recipient and checks it is 8 to 15 digits. */
export function whatsAppWaId(to: unknown): string | undefined {
  if (typeof to !== 'string' || !/^\+?\d{8,15}$/.test(to)) return undefined;
  return to.replace(/^\+/, '');
}

/** Validates a send body the way the Cloud API does (for the types the simulator supports). */
export function parseWhatsAppSend(body: unknown): Parsed<WhatsAppSend> {
  if (!isRecord(body)) return { ok: false, details: 'request body must be a JSON object' };
  if (body.messaging_product === undefined) return { ok: false, details: 'The parameter messaging_product is required.' };
  if (body.messaging_product !== 'whatsapp') {
    return { ok: false, details: `Param messaging_product must be one of {WHATSAPP} - got "${String(body.messaging_product)}".` };
  }
  if (body.status === 'read') {
    if (typeof body.message_id !== 'string' || body.message_id === '') return { ok: false, details: 'The parameter message_id is required.' };
    return { ok: true, value: { kind: 'mark_read', messageId: body.message_id } };
  }
  if (body.recipient_type !== undefined && body.recipient_type !== 'individual') {
    return { ok: false, details: 'Param recipient_type must be "individual".' };
  }
  if (body.to === undefined) return { ok: false, details: 'The parameter to is required.' };
  const waId = whatsAppWaId(body.to);
  if (waId === undefined) return { ok: false, details: 'Param to must be a phone number of 8 to 15 digits, optionally with a leading +.' };
  const input = body.to as string;
  const callbackData = body.biz_opaque_callback_data;
  if (callbackData !== undefined) {
    if (typeof callbackData !== 'string') return { ok: false, details: 'Param biz_opaque_callback_data must be a string.' };
    if (charCount(callbackData) > WHATSAPP_CALLBACK_DATA_MAX) {
      return { ok: false, details: `Param biz_opaque_callback_data must be at most ${WHATSAPP_CALLBACK_DATA_MAX} characters long.` };
    }
  }
  const reference = callbackData === undefined ? {} : { callbackData };
  const type = body.type ?? 'text';
  if (type === 'text') {
    const text = body.text;
    if (!isRecord(text) || typeof text.body !== 'string' || text.body === '') {
      return { ok: false, details: 'The parameter text[body] is required.' };
    }
    if (charCount(text.body) > WHATSAPP_TEXT_MAX) {
      return { ok: false, details: `Param text[body] must be at most ${WHATSAPP_TEXT_MAX} characters long.` };
    }
    return { ok: true, value: { kind: 'message', input, waId, type, text: text.body, ...reference } };
  }
  if (typeof type !== 'string' || !(MEDIA_TYPES as readonly string[]).includes(type)) {
    return { ok: false, details: `Param type must be one of {text, ${MEDIA_TYPES.join(', ')}} (the simulator supports no other) - got "${String(type)}".` };
  }
  const object = body[type];
  if (!isRecord(object)) return { ok: false, details: `The parameter ${type} is required.` };
  const media: ReceivedMedia = {};
  if (object.link !== undefined) {
    if (!isHttpUrl(object.link)) return { ok: false, details: `Param ${type}[link] must be a valid http(s) URL.` };
    media.link = object.link;
  }
  if (object.id !== undefined) {
    if (typeof object.id !== 'string' || object.id === '') return { ok: false, details: `Param ${type}[id] must be a non-empty string.` };
    media.id = object.id;
  }
  if (media.link === undefined && media.id === undefined) {
    return { ok: false, details: `Param ${type} must have either link or id.` };
  }
  if (object.caption !== undefined) {
    if (typeof object.caption !== 'string') return { ok: false, details: `Param ${type}[caption] must be a string.` };
    if (charCount(object.caption) > WHATSAPP_CAPTION_MAX) {
      return { ok: false, details: `Param ${type}[caption] must be at most ${WHATSAPP_CAPTION_MAX} characters long.` };
    }
    media.caption = object.caption;
  }
  if (type === 'document' && typeof object.filename === 'string') media.filename = object.filename;
  return { ok: true, value: { kind: 'message', input, waId, type, media, ...reference } };
}

function envelope(account: WhatsAppAccount, phoneNumberId: string, value: Record<string, unknown>): unknown {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: account.wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: account.displayPhoneNumber, phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

const unixSeconds = (ms: number): string => String(Math.floor(ms / 1000));

/**
 * A status webhook (`value.statuses[]`) for one sent message; `callbackData` (the send's
 * `biz_opaque_callback_data`) is echoed as the status's `biz_opaque_callback_data` when given;
 * `error` (a `failed` status) becomes its `errors[]`.
 */
export function whatsAppStatusWebhook(
  account: WhatsAppAccount,
  status: {
    phoneNumberId: string;
    messageId: string;
    status: WhatsAppStatus;
    timestampMs: number;
    recipientId: string;
    callbackData?: string;
    error?: WhatsAppStatusError;
  },
): unknown {
  return envelope(account, status.phoneNumberId, {
    statuses: [
      {
        id: status.messageId,
        status: status.status,
        timestamp: unixSeconds(status.timestampMs),
        recipient_id: status.recipientId,
        ...(status.callbackData !== undefined ? { biz_opaque_callback_data: status.callbackData } : {}),
        ...(status.error !== undefined
          ? {
              errors: [
                {
                  code: status.error.code,
                  title: status.error.title,
                  message: status.error.title,
                  error_data: { details: status.error.details },
                  href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
                },
              ],
            }
          : {}),
      },
    ],
  });
}

/**
 * An inbound message webhook (`value.messages[]` with `contacts`); `message` is one
 * `messages[]` item of any type, already shaped (`from`, `id`, `timestamp`, `type`, …).
 */
export function whatsAppInboundWebhook(
  account: WhatsAppAccount,
  inbound: { phoneNumberId: string; from: string; name: string; message: Record<string, unknown> },
): unknown {
  return envelope(account, inbound.phoneNumberId, {
    contacts: [{ profile: { name: inbound.name }, wa_id: inbound.from }],
    messages: [inbound.message],
  });
}

import { randomIdBytes } from './random-pool.ts';
import { isHttpUrl, isRecord, type Parsed } from './json-body.ts';
import type { ReceivedMedia } from './received-log.ts';

/** Text limit of the Instagram Messaging API, in UTF-8 bytes. */
export const INSTAGRAM_TEXT_MAX_BYTES = 1000;
/** `message.metadata` limit, in characters. */
export const INSTAGRAM_METADATA_MAX = 1000;

const ATTACHMENT_TYPES = ['image', 'video', 'audio', 'file'] as const;

/** A valid `POST /{version}/me/messages` body. */
export type InstagramSend =
  | { kind: 'message'; recipientId: string; type: string; text?: string; media?: ReceivedMedia; metadata?: string }
  | { kind: 'sender_action'; recipientId: string };

/** A new message id, `mid.<random>`. */
export function newMid(): string {
  return `mid.${randomIdBytes(24).toString('base64url')}`;
}

/** Validates a send body the way the Instagram Messaging API does. */
export function parseInstagramSend(body: unknown): Parsed<InstagramSend> {
  if (!isRecord(body)) return { ok: false, details: 'request body must be a JSON object' };
  const recipient = body.recipient;
  if (!isRecord(recipient) || typeof recipient.id !== 'string' || recipient.id === '') {
    return { ok: false, details: 'param recipient[id] must be a non-empty string.' };
  }
  const recipientId = recipient.id;
  if (body.message === undefined && typeof body.sender_action === 'string') {
    return { ok: true, value: { kind: 'sender_action', recipientId } };
  }
  const message = body.message;
  if (!isRecord(message)) return { ok: false, details: 'param message must be an object.' };
  if (message.text !== undefined && message.attachment !== undefined) {
    return { ok: false, details: 'param message must have either text or attachment, not both.' };
  }
  const metadata = message.metadata;
  if (metadata !== undefined) {
    if (typeof metadata !== 'string') return { ok: false, details: 'param message[metadata] must be a string.' };
    if ([...metadata].length > INSTAGRAM_METADATA_MAX) {
      return { ok: false, details: `Length of param message[metadata] must be less than or equal to ${INSTAGRAM_METADATA_MAX}.` };
    }
  }
  const reference = metadata === undefined ? {} : { metadata };
  if (message.text !== undefined) {
    if (typeof message.text !== 'string' || message.text === '') return { ok: false, details: 'param message[text] must be a non-empty string.' };
    if (Buffer.byteLength(message.text, 'utf8') > INSTAGRAM_TEXT_MAX_BYTES) {
      return { ok: false, details: `Length of param message[text] must be less than or equal to ${INSTAGRAM_TEXT_MAX_BYTES} (UTF-8 bytes).` };
    }
    return { ok: true, value: { kind: 'message', recipientId, type: 'text', text: message.text, ...reference } };
  }
  const attachment = message.attachment;
  if (!isRecord(attachment)) return { ok: false, details: 'param message must have text or attachment.' };
  if (typeof attachment.type !== 'string' || !(ATTACHMENT_TYPES as readonly string[]).includes(attachment.type)) {
    return { ok: false, details: `param message[attachment][type] must be one of {${ATTACHMENT_TYPES.join(', ')}}.` };
  }
  const payload = attachment.payload;
  if (!isRecord(payload) || !isHttpUrl(payload.url)) {
    return { ok: false, details: 'param message[attachment][payload][url] must be a valid http(s) URL.' };
  }
  return { ok: true, value: { kind: 'message', recipientId, type: attachment.type, media: { link: payload.url }, ...reference } };
}

/**
 * A message echo: our account `accountId` sent `mid` to user `recipientId`. Carries the text, or
 * the attachment as `attachments[]`, and the send's `message.metadata` when it had one.
 */
export function instagramEchoWebhook(event: {
  accountId: string;
  recipientId: string;
  mid: string;
  timestampMs: number;
  text?: string;
  attachment?: { type: string; url: string };
  metadata?: string;
}): unknown {
  const message: Record<string, unknown> = { mid: event.mid, is_echo: true };
  if (event.text !== undefined) message.text = event.text;
  if (event.attachment !== undefined) message.attachments = [{ type: event.attachment.type, payload: { url: event.attachment.url } }];
  if (event.metadata !== undefined) message.metadata = event.metadata;
  return messagingWebhook(event.accountId, event.timestampMs, { sender: { id: event.accountId }, recipient: { id: event.recipientId }, message });
}

/** A `messaging_seen` read event: the user `recipientId` read our message `mid`. */
export function instagramReadWebhook(event: { accountId: string; recipientId: string; mid: string; timestampMs: number }): unknown {
  return messagingWebhook(event.accountId, event.timestampMs, { sender: { id: event.recipientId }, recipient: { id: event.accountId }, read: { mid: event.mid } });
}

/** An inbound event from user `from` to our account; `event` is its `message`, `reaction` or `message_edit` part. */
export function instagramInboundWebhook(inbound: { accountId: string; from: string; timestampMs: number; event: Record<string, unknown> }): unknown {
  return messagingWebhook(inbound.accountId, inbound.timestampMs, { sender: { id: inbound.from }, recipient: { id: inbound.accountId }, ...inbound.event });
}

/** The webhook envelope of one `messaging` event of our account (what Meta posts for Instagram). */
function messagingWebhook(accountId: string, timestampMs: number, event: Record<string, unknown>): unknown {
  return {
    object: 'instagram',
    entry: [{ id: accountId, time: timestampMs, messaging: [{ ...event, timestamp: timestampMs }] }],
  };
}

import { z } from 'zod';
import type { MediaPayload, ProviderMediaKind } from '../core/domain/inbound-payload.ts';
import type { Payload } from '../core/domain/types.ts';
import type { InboundMessage, RefusedInbound } from './channel-connector.ts';

/**
 * WhatsApp Cloud API inbound messages (`value.messages[]`) as our messages, from the sender's
 * address in E.164 (`+` and the `wa_id`). Every type WhatsApp
 * documents gets an answer: a payload (text, media, location, contacts, reaction, edit,
 * revoke → deletion, unsupported; a tapped button or list row is the text the user saw), or a
 * refusal with a reason (`system` notices such as a changed number, `order`, `request_welcome`,
 * a type we do not know, an item we cannot read). Never an exception: one odd item must not
 * make Meta redeliver the whole batch.
 */

const unixSeconds = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((s) => new Date(Number(s) * 1000).toISOString());

const Base = z.object({
  from: z.string().min(1),
  id: z.string().min(1),
  timestamp: unixSeconds,
  type: z.string().min(1),
});

const Media = z.object({
  id: z.string().min(1).optional(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
});
const Text = z.object({ body: z.string() });
const Location = z.object({
  latitude: z.number(),
  longitude: z.number(),
  name: z.string().optional(),
  address: z.string().optional(),
  url: z.string().optional(),
});
const Contact = z.object({
  name: z.object({ formatted_name: z.string().optional(), first_name: z.string().optional() }).optional(),
  phones: z.array(z.object({ phone: z.string().optional(), wa_id: z.string().optional() })).optional(),
});
const Reaction = z.object({ message_id: z.string().min(1), emoji: z.string().optional() });
const Interactive = z.object({
  type: z.string(),
  button_reply: z.object({ title: z.string() }).optional(),
  list_reply: z.object({ title: z.string() }).optional(),
});
const Button = z.object({ text: z.string() });
const Edit = z.object({
  original_message_id: z.string().min(1),
  message: z.object({ text: Text.optional(), image: Media.optional(), video: Media.optional(), document: Media.optional() }).passthrough(),
});
const Revoke = z.object({ original_message_id: z.string().min(1) });
const ErrorItem = z.object({
  code: z.union([z.number(), z.string()]).optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.object({ details: z.string().optional() }).optional(),
});

const MEDIA_KINDS = new Map<string, ProviderMediaKind>([
  ['image', 'image'],
  ['video', 'video'],
  ['audio', 'audio'],
  ['document', 'document'],
  ['sticker', 'sticker'],
]);

/** Types WhatsApp sends that are notices about the account or the chat, not something a person wrote. */
const REFUSED_TYPES = new Map<string, string>([
  ['system', 'system_event'],
  ['request_welcome', 'system_event'],
  ['order', 'order_not_supported'],
]);

/** Where the message came in and what WhatsApp says about the sender. */
export interface WhatsAppInboundContext {
  /** Our phone number id (`metadata.phone_number_id`). */
  to?: string;
  /** `contacts[]` of the same change: `wa_id` → profile name. */
  profileNames: Map<string, string>;
}

/** One `value.messages[]` item as an inbound message, or the reason it is not one. */
export function whatsAppInbound(raw: unknown, ctx: WhatsAppInboundContext): InboundMessage | RefusedInbound {
  const base = Base.safeParse(raw);
  if (!base.success) return refuse(raw, 'malformed');
  const m = base.data;
  const item = raw as Record<string, unknown>;
  const payload = toPayload(m.type, item);
  if (typeof payload === 'string') return { channel: 'whatsapp', type: m.type, reason: payload, provider_message_id: m.id, from: e164(m.from) };
  const inbound: InboundMessage = { channel: 'whatsapp', from: e164(m.from), provider_message_id: m.id, provider_timestamp: m.timestamp, payload };
  if (ctx.to !== undefined) inbound.to = ctx.to;
  const name = ctx.profileNames.get(m.from);
  if (name) inbound.profile_name = name;
  return inbound;
}

/**
 * A `wa_id` (digits) as the platform writes WhatsApp addresses: E.164 with its `+`, as users link
 * them (`POST /v1/users/me/identities`), so an inbound sender is found by the address it linked.
 */
export function e164(waId: string): string {
  return waId.startsWith('+') ? waId : `+${waId}`;
}

/** The profile names of a change's `contacts[]`, by `wa_id`; unreadable entries are left out. */
export function profileNames(contacts: unknown): Map<string, string> {
  const names = new Map<string, string>();
  if (!Array.isArray(contacts)) return names;
  for (const c of contacts) {
    const parsed = z.object({ wa_id: z.string().min(1), profile: z.object({ name: z.string().min(1) }) }).safeParse(c);
    if (parsed.success) names.set(parsed.data.wa_id, parsed.data.profile.name);
  }
  return names;
}

/** The payload, or a refusal reason. */
function toPayload(type: string, item: Record<string, unknown>): Payload | string {
  const refused = REFUSED_TYPES.get(type);
  if (refused) return refused;
  const kind = MEDIA_KINDS.get(type);
  if (kind) {
    const media = Media.safeParse(item[type]);
    if (!media.success || !media.data.id) return 'malformed';
    return mediaPayload(kind, media.data);
  }
  switch (type) {
    case 'text': {
      const text = Text.safeParse(item.text);
      return text.success && text.data.body !== '' ? { type: 'text', text: text.data.body } : 'malformed';
    }
    case 'location': {
      const l = Location.safeParse(item.location);
      return l.success ? { type: 'location', ...l.data } : 'malformed';
    }
    case 'contacts': {
      const list = z.array(Contact).min(1).safeParse(item.contacts);
      if (!list.success) return 'malformed';
      return {
        type: 'contacts',
        contacts: list.data.map((c) => ({
          name: c.name?.formatted_name ?? c.name?.first_name ?? '',
          phones: (c.phones ?? []).flatMap((p) => (p.phone ?? p.wa_id ? [p.phone ?? p.wa_id!] : [])),
        })),
      };
    }
    case 'reaction': {
      const r = Reaction.safeParse(item.reaction);
      // No emoji (or an empty one) is WhatsApp's way of saying the reaction was removed.
      return r.success ? { type: 'reaction', reacts_to: { provider_message_id: r.data.message_id }, emoji: r.data.emoji || null } : 'malformed';
    }
    case 'interactive': {
      const i = Interactive.safeParse(item.interactive);
      const title = i.success ? (i.data.button_reply?.title ?? i.data.list_reply?.title) : undefined;
      // The user tapped a reply button or a list row: what they "said" is its title.
      return title ? { type: 'text', text: title } : i.success ? 'unknown_type' : 'malformed';
    }
    case 'button': {
      const b = Button.safeParse(item.button);
      return b.success && b.data.text !== '' ? { type: 'text', text: b.data.text } : 'malformed';
    }
    case 'edit': {
      const e = Edit.safeParse(item.edit);
      if (!e.success) return 'malformed';
      const m = e.data.message;
      const text = m.text?.body ?? m.image?.caption ?? m.video?.caption ?? m.document?.caption;
      return text !== undefined ? { type: 'edit', edits: { provider_message_id: e.data.original_message_id }, text } : 'malformed';
    }
    case 'revoke': {
      const r = Revoke.safeParse(item.revoke);
      return r.success ? { type: 'deletion', deletes: { provider_message_id: r.data.original_message_id } } : 'malformed';
    }
    case 'unsupported': {
      const errors = z.array(ErrorItem).safeParse(item.errors);
      const e = errors.success ? errors.data[0] : undefined;
      const inner = z.object({ type: z.string() }).safeParse(item.unsupported);
      const reason = [e?.title ?? e?.message, e?.error_data?.details].filter(Boolean).join(': ') || 'WhatsApp could not show this message';
      return { type: 'unsupported', reason, ...(inner.success ? { provider_type: inner.data.type } : {}) };
    }
    default:
      return 'unknown_type';
  }
}

function mediaPayload(kind: ProviderMediaKind, m: z.output<typeof Media>): MediaPayload {
  const media: MediaPayload['media'] = { kind, provider_media_id: m.id! };
  if (m.mime_type) media.mime_type = m.mime_type;
  if (m.sha256) media.sha256 = m.sha256;
  if (m.filename) media.filename = m.filename;
  if (m.voice !== undefined) media.voice = m.voice;
  const payload: MediaPayload = { type: 'media', media };
  if (m.caption) payload.caption = m.caption;
  return payload;
}

function refuse(raw: unknown, reason: string): RefusedInbound {
  const r = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const refused: RefusedInbound = { channel: 'whatsapp', type: typeof r.type === 'string' ? r.type : 'unknown', reason };
  if (typeof r.id === 'string') refused.provider_message_id = r.id;
  if (typeof r.from === 'string') refused.from = e164(r.from);
  return refused;
}

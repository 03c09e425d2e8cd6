import { z } from 'zod';
import type { MediaPayload, ProviderMediaKind } from '../core/domain/inbound-payload.ts';
import type { Payload } from '../core/domain/types.ts';
import type { InboundMessage, RefusedInbound } from './channel-connector.ts';

/**
 * Instagram Messaging inbound events (`entry[].messaging[]` that are not our own echoes or read
 * receipts) as our messages: a `message` (text, each attachment, `is_deleted`, `is_unsupported`),
 * a `message_edit`, a `reaction` (react / unreact) or a `postback` (the title the user tapped).
 * Anything else is refused with a reason, never thrown.
 *
 * Provider message ids: a message's own `mid`. An edit, an unsend and a reaction name an earlier
 * `mid` and have no id of their own, so theirs is derived from that `mid` and what makes the event
 * unique (`#edit-<num_edit>`, `#deleted`, `#reaction-<action>-<timestamp>`): Meta's retry of the
 * same event finds the same id (one message), while the edit never collides with the message it edits.
 * A message with several attachments makes one message per attachment (`mid`, `mid#2`, …).
 */

const unixMillis = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform((ms) => Number(ms));
const id = z.object({ id: z.string().min(1) });

const Base = z.object({ sender: id, recipient: id.optional(), timestamp: unixMillis });
const Attachment = z.object({ type: z.string(), payload: z.object({ url: z.string().min(1).optional(), title: z.string().optional() }).passthrough().optional() });
const Message = z.object({
  mid: z.string().min(1),
  text: z.string().optional(),
  attachments: z.array(Attachment).optional(),
  is_deleted: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
});
const MessageEdit = z.object({ mid: z.string().min(1), text: z.string(), num_edit: z.union([z.number(), z.string()]).optional() });
const Reaction = z.object({ mid: z.string().min(1), action: z.enum(['react', 'unreact']), reaction: z.string().optional(), emoji: z.string().optional() });
const Postback = z.object({ mid: z.string().min(1).optional(), title: z.string().optional(), payload: z.string().optional() });

// Reels, posts and story mentions are links to something on Instagram: a shared post.
const ATTACHMENT_KINDS = new Map<string, ProviderMediaKind>([
  ['image', 'image'],
  ['video', 'video'],
  ['audio', 'audio'],
  ['file', 'file'],
  ['share', 'share'],
  ['ig_reel', 'share'],
  ['reel', 'share'],
  ['ig_post', 'share'],
  ['story_mention', 'share'],
  ['fallback', 'share'],
]);

/**
 * One `messaging[]` event that is not an echo or a read receipt, as inbound messages (several
 * for a message with several attachments), or the reason it is not one.
 */
export function instagramInbound(raw: unknown, accountId: string | undefined): (InboundMessage | RefusedInbound)[] {
  const base = Base.safeParse(raw);
  const event = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const kind = ['message', 'message_edit', 'reaction', 'postback'].find((k) => event[k] !== undefined) ?? Object.keys(event).find((k) => !['sender', 'recipient', 'timestamp'].includes(k)) ?? 'unknown';
  if (!base.success) return [{ channel: 'instagram', type: kind, reason: 'malformed' }];
  const { sender, recipient, timestamp } = base.data;
  const at = new Date(timestamp).toISOString();
  const to = recipient?.id ?? accountId;
  const make = (provider_message_id: string, payload: Payload): InboundMessage => ({
    channel: 'instagram',
    from: sender.id,
    ...(to !== undefined ? { to } : {}),
    provider_message_id,
    provider_timestamp: at,
    payload,
  });
  const refuse = (reason: string, type = kind, mid?: string): RefusedInbound => ({
    channel: 'instagram',
    type,
    reason,
    from: sender.id,
    ...(mid !== undefined ? { provider_message_id: mid } : {}),
  });

  switch (kind) {
    case 'message': {
      const m = Message.safeParse(event.message);
      if (!m.success) return [refuse('malformed')];
      const msg = m.data;
      if (msg.is_deleted) return [make(`${msg.mid}#deleted`, { type: 'deletion', deletes: { provider_message_id: msg.mid } })];
      if (msg.is_unsupported) return [make(msg.mid, { type: 'unsupported', reason: 'Instagram could not show this message (a GIF, a sticker or another type it does not forward)' })];
      const out: (InboundMessage | RefusedInbound)[] = [];
      if (msg.text !== undefined && msg.text !== '') out.push(make(msg.mid, { type: 'text', text: msg.text }));
      for (const a of msg.attachments ?? []) {
        const n = out.length;
        const mid = n === 0 ? msg.mid : `${msg.mid}#${n + 1}`;
        const mediaKind = ATTACHMENT_KINDS.get(a.type);
        if (!mediaKind) out.push(refuse('unknown_type', `attachment:${a.type}`, mid));
        else if (!a.payload?.url) out.push(refuse('malformed', `attachment:${a.type}`, mid));
        else {
          const payload: MediaPayload = { type: 'media', media: { kind: mediaKind, url: a.payload.url } };
          if (a.payload.title) payload.caption = a.payload.title;
          out.push(make(mid, payload));
        }
      }
      return out.length > 0 ? out : [refuse('empty', 'message', msg.mid)];
    }
    case 'message_edit': {
      const e = MessageEdit.safeParse(event.message_edit);
      if (!e.success) return [refuse('malformed')];
      return [make(`${e.data.mid}#edit-${e.data.num_edit ?? timestamp}`, { type: 'edit', edits: { provider_message_id: e.data.mid }, text: e.data.text })];
    }
    case 'reaction': {
      const r = Reaction.safeParse(event.reaction);
      if (!r.success) return [refuse('malformed')];
      const emoji = r.data.action === 'unreact' ? null : (r.data.emoji ?? r.data.reaction);
      // A reaction that names no reaction cannot be shown; it is not a removal either.
      if (emoji === undefined) return [refuse('malformed', 'reaction', r.data.mid)];
      return [make(`${r.data.mid}#reaction-${r.data.action}-${timestamp}`, { type: 'reaction', reacts_to: { provider_message_id: r.data.mid }, emoji })];
    }
    case 'postback': {
      const p = Postback.safeParse(event.postback);
      const text = p.success ? (p.data.title ?? p.data.payload) : undefined;
      if (!p.success || !text) return [refuse('malformed')];
      // The user tapped a button: what they "said" is its title.
      return [make(p.data.mid ?? `postback-${sender.id}-${timestamp}`, { type: 'text', text })];
    }
    default:
      return [refuse('unknown_type')];
  }
}

import type { InboundRequest, InboundType } from './admin-schemas.ts';
import { generatedBytes } from './inbound-media.ts';
import { instagramInboundWebhook, newMid } from './instagram-api.ts';
import type { SimContext } from './sim-context.ts';
import { newWamid, whatsAppInboundWebhook } from './whatsapp-api.ts';

/** What `POST /_sim/inbound` answers: the provider message id, and the media's when there is one. */
export interface InboundEmitted {
  /** The `wamid…` / `mid…` of the new message; for an Instagram reaction, edit or unsend (no id of their own), the target's. */
  id: string;
  channel: InboundRequest['channel'];
  media_id?: string;
  /** Where the media's bytes are (WhatsApp: with the bearer token; Instagram: as is). */
  media_url?: string;
  sha256?: string;
}

const DEFAULT_MIME: Partial<Record<InboundType, string>> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/pdf',
  sticker: 'image/webp',
};

/**
 * Emits a signed inbound webhook of any type a user can send (see docs/provider-sim.md). With
 * `duplicate` every webhook goes twice; with `shuffled` order each copy waits a random
 * 0..`inbound_shuffle_ms` first, so consecutive messages overtake each other while their
 * timestamps keep the time they were written, as Meta's unordered delivery does.
 */
export function emitInbound(ctx: SimContext, m: InboundRequest, baseUrl: string): InboundEmitted {
  const timestampMs = m.timestamp_ms ?? ctx.clock.now();
  const emitted = m.channel === 'whatsapp' ? whatsApp(ctx, m, timestampMs, baseUrl) : instagram(ctx, m, timestampMs, baseUrl);
  const { config } = ctx.state;
  const copies = config.duplicate ? 2 : 1;
  const shuffled = config.order === 'shuffled';
  ctx.dispatcher.dispatch(
    m.channel,
    Array.from({ length: copies }, () => ({ delayMs: shuffled ? Math.floor(ctx.random() * config.inboundShuffleMs) : 0, payload: emitted.payload })),
    !shuffled,
  );
  return emitted.answer;
}

function holdMedia(ctx: SimContext, m: InboundRequest, baseUrl: string) {
  const bytes = m.content_base64 !== undefined ? Buffer.from(m.content_base64, 'base64') : generatedBytes(m.size ?? 1024);
  const held = ctx.state.media.put(m.channel, m.mime_type ?? DEFAULT_MIME[m.type] ?? 'application/octet-stream', bytes);
  return { held, url: `${baseUrl}/_sim/media/${held.id}` };
}

function whatsApp(ctx: SimContext, m: InboundRequest, timestampMs: number, baseUrl: string) {
  const id = newWamid();
  const from = m.from.replace(/^\+/, '');
  const answer: InboundEmitted = { id, channel: 'whatsapp' };
  let body: Record<string, unknown>;
  switch (m.type) {
    case 'text':
      body = { type: 'text', text: { body: m.text } };
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const { held, url } = holdMedia(ctx, m, baseUrl);
      const media: Record<string, unknown> = { mime_type: held.mimeType, sha256: held.sha256, id: held.id };
      if (m.caption !== undefined && m.type !== 'audio' && m.type !== 'sticker') media.caption = m.caption;
      if (m.type === 'document') media.filename = m.filename ?? 'document.pdf';
      if (m.type === 'audio') media.voice = false;
      if (m.type === 'sticker') media.animated = false;
      body = { type: m.type, [m.type]: media };
      Object.assign(answer, { media_id: held.id, media_url: url, sha256: held.sha256 });
      break;
    }
    case 'location':
      body = { type: 'location', location: { latitude: m.latitude, longitude: m.longitude } };
      break;
    case 'reaction':
      // No emoji is how WhatsApp says a reaction was removed.
      body = { type: 'reaction', reaction: { message_id: m.target, ...(m.emoji !== undefined ? { emoji: m.emoji } : {}) } };
      break;
    case 'edit':
      body = { type: 'edit', edit: { original_message_id: m.target, message: { type: 'text', text: { body: m.text } } } };
      break;
    case 'deleted':
      body = { type: 'revoke', revoke: { original_message_id: m.target } };
      break;
    case 'unsupported':
      body = {
        type: 'unsupported',
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
        unsupported: { type: 'poll' },
      };
      break;
  }
  const payload = whatsAppInboundWebhook(ctx.whatsapp, {
    phoneNumberId: m.to ?? ctx.whatsapp.phoneNumberId,
    from,
    name: m.name ?? `Sim User ${from}`,
    message: { from, id, timestamp: String(Math.floor(timestampMs / 1000)), ...body },
  });
  return { payload, answer };
}

function instagram(ctx: SimContext, m: InboundRequest, timestampMs: number, baseUrl: string) {
  const accountId = m.to ?? ctx.instagram.accountId;
  // Instagram webhooks carry no name: the User Profile API (`GET /{igsid}`) answers it.
  if (m.name !== undefined) ctx.state.instagramProfiles.set(m.from, m.name);
  let id = newMid();
  const answer: InboundEmitted = { id, channel: 'instagram' };
  let event: Record<string, unknown>;
  switch (m.type) {
    case 'text':
      event = { message: { mid: id, text: m.text } };
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document': {
      const { held, url } = holdMedia(ctx, m, baseUrl);
      event = { message: { mid: id, attachments: [{ type: m.type === 'document' ? 'file' : m.type, payload: { url } }] } };
      Object.assign(answer, { media_id: held.id, media_url: url, sha256: held.sha256 });
      break;
    }
    case 'reaction':
      id = m.target!;
      event = { reaction: m.emoji !== undefined ? { mid: id, action: 'react', reaction: 'other', emoji: m.emoji } : { mid: id, action: 'unreact' } };
      break;
    case 'edit': {
      id = m.target!;
      const edits = (ctx.state.instagramEdits.get(id) ?? 0) + 1;
      ctx.state.instagramEdits.set(id, edits);
      event = { message_edit: { mid: id, text: m.text, num_edit: edits } };
      break;
    }
    case 'deleted':
      id = m.target!;
      event = { message: { mid: id, is_deleted: true } };
      break;
    default:
      // Stickers, GIFs and other kinds Instagram does not forward (the schema refuses sticker and location).
      event = { message: { mid: id, is_unsupported: true } };
  }
  answer.id = id;
  const payload = instagramInboundWebhook({ accountId, from: m.from, timestampMs, event });
  return { payload, answer };
}

import type { ExternalChannel } from '../core/domain/types.ts';

/**
 * How each channel takes a file as media: the kind a content type goes as, and the largest size
 * of each kind. From Meta's documentation of the WhatsApp Cloud API and the Instagram Messaging
 * API; 1 MB is read as 1 MiB, as Instagram's own error says ("less than 8 MiB").
 */

/** One mebibyte. */
export const MIB = 1024 * 1024;

/** WhatsApp message types for media. */
export type WhatsAppMediaKind = 'image' | 'video' | 'audio' | 'document';
/** Instagram attachment types. */
export type InstagramMediaKind = 'image' | 'video' | 'audio' | 'file';
export type MediaKind = WhatsAppMediaKind | InstagramMediaKind;

// Only the types each API takes as image/video/audio; anything else (webp, mkv, …) would be
// refused as that kind but goes as a document (WhatsApp) or a file (Instagram).
// Maps, not object literals: a content type such as "constructor" must not find a prototype member.
const WHATSAPP_KINDS = new Map<string, WhatsAppMediaKind>([
  ['image/jpeg', 'image'],
  ['image/png', 'image'],
  ['video/mp4', 'video'],
  ['video/3gpp', 'video'],
  ['audio/aac', 'audio'],
  ['audio/amr', 'audio'],
  ['audio/mpeg', 'audio'],
  ['audio/mp4', 'audio'],
  ['audio/ogg', 'audio'],
]);

const INSTAGRAM_KINDS = new Map<string, InstagramMediaKind>([
  ['image/png', 'image'],
  ['image/jpeg', 'image'],
  ['image/gif', 'image'],
  ['video/mp4', 'video'],
  ['video/ogg', 'video'],
  ['video/x-msvideo', 'video'],
  ['video/avi', 'video'],
  ['video/quicktime', 'video'],
  ['video/webm', 'video'],
  ['audio/aac', 'audio'],
  ['audio/mp4', 'audio'],
  ['audio/x-m4a', 'audio'],
  ['audio/m4a', 'audio'],
  ['audio/wav', 'audio'],
  ['audio/x-wav', 'audio'],
  ['audio/wave', 'audio'],
]);

/** The largest media of each kind, in bytes. */
export const MEDIA_LIMITS: { readonly whatsapp: Readonly<Record<WhatsAppMediaKind, number>>; readonly instagram: Readonly<Record<InstagramMediaKind, number>> } = {
  whatsapp: { image: 5 * MIB, video: 16 * MIB, audio: 16 * MIB, document: 100 * MIB },
  instagram: { image: 8 * MIB, video: 25 * MIB, audio: 25 * MIB, file: 25 * MIB },
};

/** `image/jpeg; charset=…` → `image/jpeg`. */
export function contentTypeEssence(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The WhatsApp message type a content type goes as (unknown or absent: `document`). */
export function whatsAppMediaKind(contentType: string | undefined): WhatsAppMediaKind {
  return WHATSAPP_KINDS.get(contentTypeEssence(contentType)) ?? 'document';
}

/** The Instagram attachment type a content type goes as (unknown or absent: `file`). */
export function instagramMediaKind(contentType: string | undefined): InstagramMediaKind {
  return INSTAGRAM_KINDS.get(contentTypeEssence(contentType)) ?? 'file';
}

/** How a file goes on a channel: as which kind, and whether it is within that kind's limit. */
export interface MediaFit {
  kind: MediaKind;
  /** The kind's largest size in bytes. */
  limitBytes: number;
  /** `size <= limitBytes`. */
  fits: boolean;
}

/**
 * Decides how a file of `contentType` and `size` bytes goes on `channel`. A new channel does not
 * compile until it has a case here (the `never` check), so none is sent without its limits.
 */
export function mediaFit(channel: ExternalChannel, contentType: string, size: number): MediaFit {
  const fit = (kind: MediaKind, limitBytes: number): MediaFit => ({ kind, limitBytes, fits: size <= limitBytes });
  switch (channel) {
    case 'whatsapp': {
      const kind = whatsAppMediaKind(contentType);
      return fit(kind, MEDIA_LIMITS.whatsapp[kind]);
    }
    case 'instagram': {
      const kind = instagramMediaKind(contentType);
      return fit(kind, MEDIA_LIMITS.instagram[kind]);
    }
    default: {
      const unknown: never = channel;
      throw new Error(`no media limits for channel ${String(unknown)}`);
    }
  }
}

/** `20.5 MB`, `800 KB`, `12 B`: a size for people (binary units, as the limits). */
export function humanSize(bytes: number): string {
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1).replace(/\.0$/, '')} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** How much text each channel takes in one message. */
const TEXT_BUDGET: Readonly<Record<ExternalChannel, { max: number; measure: (s: string) => number }>> = {
  // Characters (code points) on WhatsApp, UTF-8 bytes on Instagram.
  whatsapp: { max: 4096, measure: (s) => [...s].length },
  instagram: { max: 1000, measure: (s) => Buffer.byteLength(s, 'utf8') },
};

/** Whether `text` is within what `channel` takes in one message. */
export function fitsChannelText(channel: ExternalChannel, text: string): boolean {
  const { max, measure } = TEXT_BUDGET[channel];
  return measure(text) <= max;
}

/**
 * The text sent instead of a file the channel cannot take as media: the caption, then the file's
 * name, size and download link. The link always goes whole; a caption that would make the text
 * longer than the channel takes is shortened (ending in `…`).
 */
export function linkFallbackText(channel: ExternalChannel, file: { filename: string; size: number; caption?: string }, url: string): string {
  const tail = `📎 ${file.filename} (${humanSize(file.size)}): ${url}`;
  const caption = file.caption?.trim();
  if (!caption) return tail;
  const { max, measure } = TEXT_BUDGET[channel];
  const whole = `${caption}\n\n${tail}`;
  if (measure(whole) <= max) return whole;
  const room = max - measure(`…\n\n${tail}`);
  let cut = '';
  for (const ch of caption) {
    if (measure(cut + ch) > room) break;
    cut += ch;
  }
  return cut ? `${cut}…\n\n${tail}` : tail;
}

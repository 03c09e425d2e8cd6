import type { Channel } from './channel.ts';

/** One mebibyte: Meta's "MB" in its media limits (Instagram's own error says "8 MiB"). */
export const MIB = 1024 * 1024;

/** What Meta takes for one media kind of a channel: the largest size and the content types. */
export interface MediaRule {
  /** Largest accepted size in bytes. */
  maxBytes: number;
  /** Accepted content types (essence, lower case); `undefined`: any type. */
  contentTypes?: ReadonlySet<string>;
}

// The simulator's own table, on purpose not shared with the connectors: it stands for Meta, and a
// connector that got its table wrong must be caught here, not agree with itself.
// Maps, not object literals: a kind such as "constructor" must not find a prototype member.
const RULES = new Map<Channel, Map<string, MediaRule>>([
  [
    'whatsapp',
    new Map<string, MediaRule>([
      ['image', { maxBytes: 5 * MIB, contentTypes: new Set(['image/jpeg', 'image/png']) }],
      ['video', { maxBytes: 16 * MIB, contentTypes: new Set(['video/mp4', 'video/3gpp']) }],
      ['audio', { maxBytes: 16 * MIB, contentTypes: new Set(['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg']) }],
      // Meta lists the office formats, PDF and text; in practice any type goes as a document.
      ['document', { maxBytes: 100 * MIB }],
    ]),
  ],
  [
    'instagram',
    new Map<string, MediaRule>([
      ['image', { maxBytes: 8 * MIB, contentTypes: new Set(['image/png', 'image/jpeg', 'image/gif']) }],
      [
        'video',
        { maxBytes: 25 * MIB, contentTypes: new Set(['video/mp4', 'video/ogg', 'video/x-msvideo', 'video/avi', 'video/quicktime', 'video/webm']) },
      ],
      ['audio', { maxBytes: 25 * MIB, contentTypes: new Set(['audio/aac', 'audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/wav', 'audio/x-wav', 'audio/wave']) }],
      ['file', { maxBytes: 25 * MIB }],
    ]),
  ],
]);

/** The rule for a channel's media kind (WhatsApp `image|video|audio|document`, Instagram `image|video|audio|file`). */
export function mediaRule(channel: Channel, kind: string): MediaRule | undefined {
  return RULES.get(channel)?.get(kind);
}

/** The largest media the simulator fetches for any kind: the WhatsApp document limit. */
export const LARGEST_MEDIA_BYTES = 100 * MIB;

/** `image/jpeg; charset=…` → `image/jpeg`. */
export function contentTypeEssence(header: string | null | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

import type { Channel } from './channel.ts';
import type { FetchedMedia, MediaRefusal } from './media-check.ts';

/** Media of an accepted message: WhatsApp `link` or `id`, Instagram `payload.url` as `link`. */
export interface ReceivedMedia {
  link?: string;
  id?: string;
  caption?: string;
  filename?: string;
  /** What the simulator fetched from `link`: size in bytes, sha256 (hex) and content type. */
  fetched?: FetchedMedia;
  /**
   * Why the media was refused after the call was accepted (WhatsApp reports it in a `failed`
   * status webhook, with `code` 131053); the recipient got nothing.
   */
  fetch_error?: MediaRefusal & { code: number };
}

/** One provider call the simulator accepted (answered 200), as recorded. */
export interface ReceivedMessage {
  channel: Channel;
  /** Recipient: WhatsApp `wa_id` (digits, no `+`), Instagram IGSID. */
  to: string;
  /** `text`, `image`, `document`, `audio`, `video` (WhatsApp); `text`, `image`, `video`, `audio`, `file` (Instagram). */
  type: string;
  text?: string;
  media?: ReceivedMedia;
  provider_message_id: string;
  /**
   * The caller's reference, echoed in webhooks: WhatsApp `biz_opaque_callback_data`,
   * Instagram `message.metadata`. Not part of the duplicate key.
   */
  reference?: string;
  /** Arrival time, RFC 3339. */
  at: string;
}

/** A recorded message as listed by `GET /_sim/received`. */
export interface ReceivedListing extends ReceivedMessage {
  /** Position in the log since the simulator started: 1, 2, 3, …; never reused, not even after a reset. */
  index: number;
  /** How many OTHER accepted messages have the same channel, recipient, type and content. */
  duplicate_count: number;
}

/** Filter for {@link ReceivedLog.list}; every field optional. */
export interface ReceivedFilter {
  channel?: Channel;
  /** Recipient; for WhatsApp a leading `+` is ignored. */
  to?: string;
  /** Only entries with `index` greater than this (an incremental poll). */
  after?: number;
}

/** Answer of `GET /_sim/received`. */
export interface ReceivedReport {
  received: ReceivedListing[];
  /** Number of listed messages. */
  total: number;
  /**
   * Listed messages that repeat the content of an earlier one. Without `after` the earlier one is
   * listed too; with `after` it may lie before the window, so polls can add their counts up.
   */
  duplicates: number;
  /** The highest index recorded so far (0 when nothing was): the next poll's `after`. */
  last_index: number;
}

interface Entry extends ReceivedMessage {
  index: number;
  key: string;
  /** 1 for the first message with this content, 2 for its first repeat, … */
  occurrence: number;
}

function contentKey(m: ReceivedMessage): string {
  return JSON.stringify([m.channel, m.to, m.type, m.text ?? null, linkWithoutQuery(m.media?.link), m.media?.id ?? null, m.media?.caption ?? null]);
}

// A presigned link changes at every signing (date, signature) while naming the same object, so a
// resent media is recognised by the link without its query string.
function linkWithoutQuery(link: string | undefined): string | null {
  if (link === undefined) return null;
  const url = new URL(link);
  return `${url.origin}${url.pathname}`;
}

/**
 * Accepted provider calls in arrival order, so tests can assert nothing was lost or sent twice.
 * Content counts are kept as calls arrive, so an incremental poll (`after`) costs only its window.
 */
export class ReceivedLog {
  private entries: Entry[] = [];
  private readonly counts = new Map<string, number>();
  private lastIndex = 0;

  /** Appends an accepted call. */
  record(message: ReceivedMessage): void {
    const key = contentKey(message);
    const occurrence = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, occurrence);
    this.entries.push({ ...message, index: ++this.lastIndex, key, occurrence });
  }

  /** Lists accepted calls matching `filter`, with duplicate counts. */
  list(filter: ReceivedFilter = {}): ReceivedReport {
    // Indexes are consecutive inside `entries` (a clear empties it), so the window is a slice.
    const first = this.entries[0]?.index ?? this.lastIndex + 1;
    const window = filter.after === undefined ? this.entries : this.entries.slice(Math.max(0, filter.after - first + 1));
    const selected = window.filter((m) => {
      if (filter.channel !== undefined && m.channel !== filter.channel) return false;
      if (filter.to !== undefined) {
        const to = m.channel === 'whatsapp' ? filter.to.replace(/^\+/, '') : filter.to;
        if (m.to !== to) return false;
      }
      return true;
    });
    // Channel and recipient are part of the content key, so the log-wide counts are also the
    // counts inside any channel/recipient selection.
    let duplicates = 0;
    const received = selected.map(({ key, occurrence, ...m }) => {
      if (occurrence > 1) duplicates++;
      return { ...m, duplicate_count: (this.counts.get(key) ?? 1) - 1 };
    });
    return { received, total: selected.length, duplicates, last_index: this.lastIndex };
  }

  /** Forgets every recorded call; indexes keep counting up. */
  clear(): void {
    this.entries = [];
    this.counts.clear();
  }
}

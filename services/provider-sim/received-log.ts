import type { Channel } from './channel.ts';

/** Media of an accepted message: WhatsApp `link` or `id`, Instagram `payload.url` as `link`. */
export interface ReceivedMedia {
  link?: string;
  id?: string;
  caption?: string;
  filename?: string;
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
  /** How many OTHER accepted messages have the same channel, recipient, type and content. */
  duplicate_count: number;
}

/** Filter for {@link ReceivedLog.list}; every field optional. */
export interface ReceivedFilter {
  channel?: Channel;
  /** Recipient; for WhatsApp a leading `+` is ignored. */
  to?: string;
}

/** Answer of `GET /_sim/received`. */
export interface ReceivedReport {
  received: ReceivedListing[];
  /** Number of listed messages. */
  total: number;
  /** Listed messages that repeat the content of an earlier listed one. */
  duplicates: number;
}

function contentKey(m: ReceivedMessage): string {
  return JSON.stringify([m.channel, m.to, m.type, m.text ?? null, m.media?.link ?? null, m.media?.id ?? null, m.media?.caption ?? null]);
}

/** Accepted provider calls in arrival order, so tests can assert nothing was lost or sent twice. */
export class ReceivedLog {
  private readonly entries: ReceivedMessage[] = [];

  /** Appends an accepted call. */
  record(message: ReceivedMessage): void {
    this.entries.push(message);
  }

  /** Lists accepted calls matching `filter`, with duplicate counts. */
  list(filter: ReceivedFilter = {}): ReceivedReport {
    const selected = this.entries.filter((m) => {
      if (filter.channel !== undefined && m.channel !== filter.channel) return false;
      if (filter.to !== undefined) {
        const to = m.channel === 'whatsapp' ? filter.to.replace(/^\+/, '') : filter.to;
        if (m.to !== to) return false;
      }
      return true;
    });
    // Channel and recipient are part of the content key, so counting inside the filtered
    // selection gives the same answer as counting over the whole log.
    const counts = new Map<string, number>();
    for (const m of selected) counts.set(contentKey(m), (counts.get(contentKey(m)) ?? 0) + 1);
    const received = selected.map((m) => ({ ...m, duplicate_count: (counts.get(contentKey(m)) ?? 1) - 1 }));
    return { received, total: selected.length, duplicates: selected.length - counts.size };
  }

  /** Forgets every recorded call. */
  clear(): void {
    this.entries.length = 0;
  }
}

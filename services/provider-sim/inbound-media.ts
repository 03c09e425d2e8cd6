import { createHash, randomInt } from 'node:crypto';
import type { Channel } from './channel.ts';

/** A file a simulated user sent, as the provider holds it. */
export interface HeldMedia {
  id: string;
  channel: Channel;
  mimeType: string;
  bytes: Buffer;
  /** Hex SHA-256 of `bytes`, as the webhook and the media API report it. */
  sha256: string;
}

/**
 * The media of inbound messages, fetchable the way Meta serves them: WhatsApp through
 * `GET /{version}/{media_id}` (a URL) then that URL with the bearer token; Instagram through the
 * attachment's URL itself. Bounded: the oldest file is forgotten past `capacity`, as Meta's
 * media URLs expire.
 */
export class InboundMediaStore {
  private readonly media = new Map<string, HeldMedia>();

  constructor(private readonly capacity = 500) {}

  /** Keeps `bytes` and returns its record with a new WhatsApp-shaped numeric id. */
  put(channel: Channel, mimeType: string, bytes: Buffer): HeldMedia {
    const id = `${randomInt(1e9, 1e10 - 1)}${randomInt(1e5, 1e6 - 1)}`;
    const held: HeldMedia = { id, channel, mimeType, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    this.media.set(id, held);
    if (this.media.size > this.capacity) this.media.delete(this.media.keys().next().value!);
    return held;
  }

  get(id: string): HeldMedia | undefined {
    return this.media.get(id);
  }

  clear(): void {
    this.media.clear();
  }
}

/** `size` bytes that are the same for the same size and differ between sizes (enough to check a download). */
export function generatedBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + size) & 0xff;
  return out;
}

import type { Message } from '../core/domain/types.ts';

/** What applying a provider status needs to know of a send: its delivery and its message's time and trace. */
export interface RecentSend extends Pick<Message, 'created_at' | 'trace_id'> {
  delivery_id: string;
}

/**
 * The sends this process made lately, by the provider's id for them: the provider's status
 * webhooks (sent, delivered, read within a second of the send) find their delivery and message
 * here instead of in the store, two reads per status fewer. Only what cannot change is kept: a
 * provider id, once recorded, stays with its delivery (`recordProviderRef` never replaces it), and
 * a message's time and trace id are fixed. A send not found here (made by another process, or
 * forgotten) is looked up in the store as before. At most `limit` sends are kept, the oldest
 * forgotten first.
 */
export class RecentSends {
  private readonly sends = new Map<string, RecentSend>();

  /** @param limit sends kept; at 1,000 sends a second, 20,000 covers the last 20 s. @default 20000 */
  constructor(private readonly limit = 20_000) {}

  /** Notes a send whose provider id was recorded in the store. */
  remember(channel: string, providerMessageId: string, send: RecentSend): void {
    if (this.sends.size >= this.limit) {
      const oldest = this.sends.keys().next();
      if (!oldest.done) this.sends.delete(oldest.value);
    }
    this.sends.set(key(channel, providerMessageId), send);
  }

  /** The send the provider knows by this id, when this process made it lately. */
  find(channel: string, providerMessageId: string): RecentSend | undefined {
    return this.sends.get(key(channel, providerMessageId));
  }

  /** How many sends are kept. */
  get size(): number {
    return this.sends.size;
  }
}

const key = (channel: string, providerMessageId: string) => `${channel}\n${providerMessageId}`;

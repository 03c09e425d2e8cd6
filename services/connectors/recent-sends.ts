import type { Message } from '../core/domain/types.ts';

/** What applying a provider status needs to know of a send: its delivery and its message's time and trace. */
export interface RecentSend extends Pick<Message, 'created_at' | 'trace_id'> {
  delivery_id: string;
}

/**
 * The sends this process made lately, by the provider's id for them: the provider's status
 * webhooks (sent, delivered, read within a second of the send) find their delivery and message
 * here instead of in the store, two reads per status fewer. A send is noted as soon as the provider
 * answers, with the write of its provider id: a status that comes in before that write is done (on
 * a busy process both wait in the same turn) waits for it, instead of taking the path of a send
 * whose answer was lost (a read and a write of its own, counted as recovered). Only what cannot
 * change is kept: a provider id, once recorded, stays with its delivery (`recordProviderRef` never
 * replaces it), and a message's time and trace id are fixed. A send whose write failed or found
 * another id is forgotten, and a send not found here (made by another process, or forgotten) is
 * looked up in the store as before. At most `limit` sends are kept, the oldest forgotten first.
 */
export class RecentSends {
  private readonly sends = new Map<string, { send: RecentSend; recorded: Promise<boolean> | true }>();

  /** @param limit sends kept; at 1,000 sends a second, 20,000 covers the last 20 s. @default 20000 */
  constructor(private readonly limit = 20_000) {}

  /**
   * Notes a send the provider accepted as `providerMessageId`; `recorded` is the write of that id
   * (true: written; false: the delivery had another id).
   */
  note(channel: string, providerMessageId: string, send: RecentSend, recorded: Promise<boolean>): void {
    if (this.sends.size >= this.limit) {
      const oldest = this.sends.keys().next();
      if (!oldest.done) this.sends.delete(oldest.value);
    }
    const k = key(channel, providerMessageId);
    const entry: { send: RecentSend; recorded: Promise<boolean> | true } = { send, recorded };
    this.sends.set(k, entry);
    const forget = () => {
      if (this.sends.get(k) === entry) this.sends.delete(k);
    };
    recorded.then((ok) => (ok ? (entry.recorded = true) : forget()), forget);
  }

  /** The send the provider knows by this id, once its id is in the store; undefined when this process did not make it lately. */
  async find(channel: string, providerMessageId: string): Promise<RecentSend | undefined> {
    const entry = this.sends.get(key(channel, providerMessageId));
    if (!entry) return undefined;
    if (entry.recorded === true) return entry.send;
    const ok = await entry.recorded.catch(() => false);
    return ok ? entry.send : undefined;
  }

  /** How many sends are kept. */
  get size(): number {
    return this.sends.size;
  }
}

const key = (channel: string, providerMessageId: string) => `${channel}\n${providerMessageId}`;

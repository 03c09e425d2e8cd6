import { HttpClient } from './http-client.ts';

/** One message the provider simulator accepted, as `GET /_sim/received` lists it. */
export interface SimReceipt {
  channel: string;
  to: string;
  text?: string;
  /** When the simulator accepted it, RFC 3339 with ms. */
  at: string;
  index: number;
}

interface ReceivedAnswer {
  received: SimReceipt[];
  last_index?: number;
}

/** Larger than any index: asks only for `last_index`, at no cost. */
const NOTHING_YET = Number.MAX_SAFE_INTEGER;

/**
 * Follows what the provider simulator accepts on one channel, incrementally: each poll asks
 * `GET /_sim/received?channel=…&after=<last_index>` and hands the new entries on, in the order the
 * simulator accepted them. Entries accepted before `start` are skipped.
 */
export class ReceivedPoller {
  /** Polls that failed (no answer or not 200); the poller keeps trying. */
  errors = 0;
  lastError: string | null = null;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;

  private constructor(
    private readonly client: HttpClient,
    private readonly channel: string,
    private after: number,
    private readonly onEntries: (entries: SimReceipt[]) => void,
    private readonly intervalMs: number,
  ) {}

  /** Reads the simulator's current position, then polls every `intervalMs` until `stop`. */
  static async start(simUrl: string, channel: string, onEntries: (entries: SimReceipt[]) => void, intervalMs = 100): Promise<ReceivedPoller> {
    const client = new HttpClient(simUrl, { connections: 1, timeoutMs: 10_000 });
    let first: ReceivedAnswer;
    try {
      first = await client.json<ReceivedAnswer>('GET', `/_sim/received?channel=${channel}&after=${NOTHING_YET}`);
    } catch (err) {
      client.close();
      throw new Error(`the provider simulator at ${simUrl} does not answer GET /_sim/received: ${(err as Error).message}`);
    }
    if (typeof first.last_index !== 'number') {
      client.close();
      throw new Error(`the provider simulator at ${simUrl} has no incremental /_sim/received (no last_index): update it`);
    }
    const poller = new ReceivedPoller(client, channel, first.last_index, onEntries, intervalMs);
    poller.loop = poller.run();
    return poller;
  }

  private async run() {
    while (!this.stopped) {
      const got = await this.pollOnce();
      // A full answer means the simulator is ahead of us: ask again at once.
      if (got < 500 && !this.stopped) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.intervalMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = null;
      }
    }
  }

  /** One poll; returns how many entries it handed on. */
  private async pollOnce(): Promise<number> {
    try {
      const body = await this.client.json<ReceivedAnswer>('GET', `/_sim/received?channel=${this.channel}&after=${this.after}`);
      if (body.received.length > 0) this.onEntries(body.received);
      this.after = Math.max(this.after, body.last_index ?? this.after);
      return body.received.length;
    } catch (err) {
      this.errors++;
      this.lastError = (err as Error).message;
      return 0;
    }
  }

  /** Stops polling after one last poll, so everything accepted until now is seen. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.pollOnce();
    this.client.close();
  }
}

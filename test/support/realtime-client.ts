import { WebSocket } from 'ws';

/* eslint-disable @typescript-eslint/no-explicit-any -- frames are whatever JSON the server sent */

/**
 * A client of `/v1/stream` the way an app would write one: it remembers the last seq it saw of
 * each conversation, and when its connection drops it reconnects to the next gateway in its list
 * and resumes from those cursors. Every `message.created` it ever received is kept, in order.
 */
export class ResumingClient {
  readonly received: any[] = [];
  readonly cursors: Record<string, number> = {};
  readonly closes: number[] = [];
  readonly connections: string[] = [];
  private ws: WebSocket | null = null;
  private stopped = false;
  private next = 0;

  constructor(
    private readonly urls: string[],
    private readonly token: string,
    /** Conversations to resume from the start on the first connection (cursor 0). */
    conversations: string[] = [],
  ) {
    for (const c of conversations) this.cursors[c] = 0;
  }

  /** Connects (to the first gateway); resolves on `ready`. */
  connect(): Promise<void> {
    const url = this.urls[this.next % this.urls.length]!;
    this.connections.push(url);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'resume', cursors: this.cursors })));
      ws.once('error', reject);
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'ready') resolve();
        if (f.type === 'message.created') {
          this.received.push(f);
          this.cursors[f.conversation_id] = Math.max(this.cursors[f.conversation_id] ?? 0, f.seq);
        }
      });
      ws.once('close', (code) => {
        this.closes.push(code);
        if (this.stopped) return;
        // Lost its gateway: the next one, from where it was.
        this.next++;
        const retry = () => void this.connect().catch(() => setTimeout(retry, 200));
        setTimeout(retry, 100);
      });
    });
  }

  /** The seqs received of a conversation, in arrival order. */
  seqs(conversationId: string): number[] {
    return this.received.filter((f) => f.conversation_id === conversationId).map((f) => f.seq);
  }

  close(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

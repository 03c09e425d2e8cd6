import WebSocket from 'ws';
import type { Cursors } from './config-dir.ts';

/** A server frame of the realtime protocol (docs/realtime.md); every one has `v` and `type`. */
export interface ServerFrame {
  v: number;
  type: string;
  [field: string]: unknown;
}

/** Why the stream stopped for good (it reconnects on everything else). */
export interface StreamEnd {
  reason: 'stopped' | 'auth' | 'protocol';
  code?: number;
  detail: string;
}

/** What the stream tells its owner besides frames (for a status line). */
export type StreamNote =
  | { kind: 'connecting'; attempt: number; url: string }
  | { kind: 'ready'; connection_id: string }
  | { kind: 'disconnected'; code: number; detail: string; retry_in_ms: number };

export interface GatewayStreamOptions {
  url: string;
  token: string;
  /** The last seq seen per conversation; the stream resumes from them and keeps them up to date. */
  cursors: Cursors;
  /** Each frame, once: replays at the seam and repeats after a reconnect are dropped. */
  onFrame(frame: ServerFrame): void;
  /** Called after a cursor moved (to persist it). */
  onCursor?(cursors: Cursors): void;
  onNote?(note: StreamNote): void;
  /** Acknowledge each message received as a recipient (makes the in-app delivery DELIVERED). @default true */
  ack?: boolean;
  /** First reconnect delay; doubles up to `maxBackoffMs`, with jitter. @default 250 */
  minBackoffMs?: number;
  /** @default 10000 */
  maxBackoffMs?: number;
  /** A ping after this much silence; no answer within as long again and the connection is dropped. @default 20000 */
  heartbeatMs?: number;
}

/** Close codes after which reconnecting cannot help. */
const FATAL: Record<number, StreamEnd['reason']> = { 4401: 'auth', 4403: 'auth', 4400: 'protocol', 1009: 'protocol' };

/**
 * A client of the push gateway for programs: authenticates with the bearer header, resumes every
 * conversation from its cursor, reconnects with backoff (after a slow-client 4429, a 1001 restart
 * or a network loss), and hands each message to its owner exactly once, in `seq` order.
 */
export class GatewayStream {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private settle!: (end: StreamEnd) => void;
  /** Resolves when the stream stops for good. */
  readonly ended: Promise<StreamEnd>;

  constructor(private readonly opts: GatewayStreamOptions) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  start(): this {
    this.connect();
    return this;
  }

  /** Closes the connection and stops reconnecting. */
  stop(): Promise<StreamEnd> {
    this.finish({ reason: 'stopped', detail: 'stopped' });
    return this.ended;
  }

  private finish(end: StreamEnd) {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, 'bye');
    else ws?.terminate();
    this.settle(end);
  }

  private connect() {
    if (this.stopped) return;
    this.attempt += 1;
    this.opts.onNote?.({ kind: 'connecting', attempt: this.attempt, url: this.opts.url });
    const ws = new WebSocket(this.opts.url, { headers: { authorization: `Bearer ${this.opts.token}` }, handshakeTimeout: 10_000 });
    this.ws = ws;
    let closedBy: { code: number; detail: string } | null = null;

    ws.on('unexpected-response', (_req, res) => {
      // The upgrade itself was refused (e.g. 401 for a bad header token): nothing to retry with the same token.
      closedBy = { code: res.statusCode ?? 0, detail: `the gateway refused the connection: HTTP ${res.statusCode}` };
      if (res.statusCode === 401 || res.statusCode === 403) this.finish({ reason: 'auth', code: res.statusCode, detail: closedBy.detail });
      ws.terminate();
    });
    ws.on('open', () => {
      this.lastHeard = Date.now();
      this.startHeartbeat(ws);
      // Right behind the token (docs/realtime.md): the gateway holds live frames briefly for it, so the replay and the live stream meet without a gap.
      ws.send(JSON.stringify({ type: 'resume', cursors: this.opts.cursors }));
    });
    ws.on('message', (data) => {
      this.lastHeard = Date.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(data.toString()) as ServerFrame;
      } catch {
        return;
      }
      this.handle(ws, frame);
    });
    ws.on('error', (err) => {
      closedBy ??= { code: 0, detail: err.message };
    });
    ws.on('close', (code, reason) => {
      this.stopHeartbeat();
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      const detail = reason.toString() || closedBy?.detail || `closed with code ${code}`;
      const fatal = FATAL[code];
      if (fatal) return this.finish({ reason: fatal, code, detail });
      const delay = this.backoff();
      this.opts.onNote?.({ kind: 'disconnected', code: closedBy?.code && code === 1006 ? closedBy.code : code, detail, retry_in_ms: delay });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private handle(ws: WebSocket, frame: ServerFrame) {
    switch (frame.type) {
      case 'ready':
        this.attempt = 0;
        this.opts.onNote?.({ kind: 'ready', connection_id: String(frame.connection_id ?? '') });
        break;
      case 'message.created': {
        const conv = String(frame.conversation_id);
        const seq = Number(frame.seq);
        const seen = this.opts.cursors[conv];
        // Replays and live events may overlap at the seam, and a reconnect replays from the cursor: drop what was seen.
        if (seen !== undefined && seq <= seen) return;
        // A conversation tail never saw starts where it first hears of it; the next run resumes from there.
        this.opts.cursors[conv] = seq;
        this.opts.onCursor?.(this.opts.cursors);
        // Ack first: the owner may stop the stream on this very frame.
        if ((this.opts.ack ?? true) && frame.delivery_id) ws.send(JSON.stringify({ type: 'ack', message_id: frame.message_id }));
        this.opts.onFrame(frame);
        break;
      }
      case 'resumed': {
        const convs = (frame.conversations ?? {}) as Record<string, { seq?: number; recovered?: boolean }>;
        for (const [id, r] of Object.entries(convs)) {
          if (typeof r.seq === 'number' && r.seq > (this.opts.cursors[id] ?? -1)) this.opts.cursors[id] = r.seq;
        }
        this.opts.onCursor?.(this.opts.cursors);
        this.opts.onFrame(frame);
        break;
      }
      case 'pong':
        break;
      default:
        this.opts.onFrame(frame);
    }
  }

  private backoff(): number {
    const min = this.opts.minBackoffMs ?? 250;
    const max = this.opts.maxBackoffMs ?? 10_000;
    const base = Math.min(max, min * 2 ** Math.min(this.attempt - 1, 16));
    // Full jitter: a gateway restart does not bring every client back in the same millisecond.
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  private startHeartbeat(ws: WebSocket) {
    const every = this.opts.heartbeatMs ?? 20_000;
    this.heartbeat = setInterval(() => {
      const silent = Date.now() - this.lastHeard;
      if (silent >= 2 * every) ws.terminate();
      else if (silent >= every) ws.send(JSON.stringify({ type: 'ping' }));
    }, Math.max(50, Math.floor(every / 2)));
    this.heartbeat.unref();
  }

  private stopHeartbeat() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

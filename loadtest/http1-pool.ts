import net from 'node:net';

/** An HTTP answer: its status and its body as text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

interface Pending {
  /** The whole request, head and body, as written to the socket. */
  wire: string;
  timeoutMs: number;
  resolve(answer: HttpAnswer): void;
  reject(err: Error): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;
const CLOSE = /\r\nconnection:[ \t]*close/i;
const KEEP_ALIVE = /\r\nkeep-alive:[^\r]*timeout=(\d+)/i;
/**
 * A socket idle for this long less than the server's announced keep-alive timeout is not used
 * again: the server may be closing it as the request leaves (node:http's agent keeps the same margin).
 */
const IDLE_MARGIN_MS = 1000;

/**
 * A plain-HTTP/1.1 client for one origin (not for HEAD, whose answers have no body): at most `connections` keep-alive sockets, one request
 * at a time on each, the rest queued. What it does per request is what a load generator needs and
 * no more: the request goes out as one string in one write, the answer is cut out of the bytes by
 * its `content-length` (or chunked encoding, or the end of the connection), and only status and
 * body come back. node:http's client (a `ClientRequest` and an `IncomingMessage` stream per
 * request, every header parsed into objects) cost about three times the CPU, and the generator
 * shares the machine with what it measures.
 */
export class Http1Pool {
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly queue: Pending[] = [];
  private open = 0;
  private closed = false;
  private pumping = false;
  /** The `host` header: an IPv6 literal in brackets. */
  private readonly authority: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly connections: number,
  ) {
    this.authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** One request; resolves with any HTTP answer, rejects only when there was none. */
  request(method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.authority}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (body !== undefined) head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    const wire = `${head}\r\n${body ?? ''}`;
    return new Promise<HttpAnswer>((resolve, reject) => {
      if (this.closed) return reject(new Error('the client is closed'));
      this.queue.push({ wire, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  /** Closes every socket; requests waiting or in flight fail. */
  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the client is closed'));
    for (const c of this.idle.splice(0)) c.destroy();
    for (const c of this.all) c.destroy(new Error('the client is closed'));
  }

  /** Hands waiting requests to idle sockets, opening new ones while under the limit. */
  private pump(): void {
    // A socket dropped below calls back into `released`, which must not start a second loop.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.drain();
    } finally {
      this.pumping = false;
    }
  }

  private drain(): void {
    while (this.queue.length > 0) {
      let c = this.idle.pop();
      if (c && c.stale()) {
        c.destroy();
        continue;
      }
      if (!c) {
        if (this.open >= this.connections) return;
        this.open++;
        c = new Connection(this.host, this.port, (conn, reusable) => this.released(conn, reusable));
        this.all.add(c);
      }
      c.send(this.queue.shift()!);
    }
  }

  private released(c: Connection, reusable: boolean): void {
    if (reusable && !this.closed) this.idle.push(c);
    else {
      this.all.delete(c);
      this.open--;
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
    }
    if (!this.closed) this.pump();
  }
}

/** One keep-alive socket and the request on it. */
class Connection {
  private readonly socket: net.Socket;
  private current: Pending | null = null;
  private buffered: Buffer | null = null;
  private timer: NodeJS.Timeout | undefined;
  private gone = false;
  /** When the last answer ended, and until when the server keeps the socket open after it. */
  private idleSince = 0;
  private keepAliveMs = Number.POSITIVE_INFINITY;

  constructor(
    host: string,
    port: number,
    private readonly onRelease: (c: Connection, reusable: boolean) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.destroy(err));
    this.socket.on('close', () => this.destroy(new Error('socket hang up')));
    this.socket.on('end', () => this.destroy(new Error('socket hang up')));
  }

  /** Whether the server may close this idle socket any moment now. */
  stale(): boolean {
    return performance.now() - this.idleSince > this.keepAliveMs - IDLE_MARGIN_MS;
  }

  send(p: Pending): void {
    this.current = p;
    this.timer = setTimeout(() => this.destroy(new Error(`no answer within ${p.timeoutMs} ms`)), p.timeoutMs);
    this.socket.write(p.wire);
  }

  /** Ends the socket; the request on it (if any) fails with `err`. */
  destroy(err?: Error): void {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.timer);
    const p = this.current;
    this.current = null;
    this.socket.destroy();
    this.onRelease(this, false);
    if (p) p.reject(err ?? new Error('socket hang up'));
  }

  private onData(chunk: Buffer): void {
    if (!this.current) return this.destroy(); // bytes nobody asked for: the stream is out of step
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    const answer = parseAnswer(data);
    if (answer === 'error') return this.destroy(new Error('malformed HTTP answer'));
    if (answer === null) {
      this.buffered = data;
      return;
    }
    this.buffered = null;
    clearTimeout(this.timer);
    const p = this.current;
    this.current = null;
    if (answer.keepAliveS !== undefined) this.keepAliveMs = answer.keepAliveS * 1000;
    this.idleSince = performance.now();
    if (answer.close) {
      this.gone = true;
      this.socket.destroy();
      this.onRelease(this, false);
    } else this.onRelease(this, true);
    p.resolve({ status: answer.status, text: answer.text });
  }
}

interface Answer {
  status: number;
  text: string;
  /** The server closes the connection after this answer. */
  close: boolean;
  /** The idle timeout the server announced (`Keep-Alive: timeout=N`), in seconds. */
  keepAliveS?: number;
}

/** A whole answer in `data`, null when more bytes are needed, 'error' when it is not HTTP. */
function parseAnswer(data: Buffer): Answer | null | 'error' {
  const end = data.indexOf(CRLF2);
  if (end < 0) return null;
  const head = data.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('HTTP/1.') || !(status >= 100 && status <= 599)) return 'error';
  const close = CLOSE.test(head);
  const keepAlive = KEEP_ALIVE.exec(head);
  const answer = (text: string): Answer => (keepAlive ? { status, text, close, keepAliveS: Number(keepAlive[1]) } : { status, text, close });
  const bodyStart = end + 4;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return answer('');
  const length = CONTENT_LENGTH.exec(head);
  if (length) {
    const bodyEnd = bodyStart + Number(length[1]);
    if (data.length < bodyEnd) return null;
    if (data.length > bodyEnd) return 'error'; // one request at a time: nothing may follow the answer
    return answer(data.toString('utf8', bodyStart, bodyEnd));
  }
  if (CHUNKED.test(head)) {
    const chunks: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16);
      if (!Number.isFinite(size)) return 'error';
      if (size === 0) {
        // The last chunk, then (no trailers) an empty line.
        if (data.length < lineEnd + 4) return null;
        return answer(Buffer.concat(chunks).toString('utf8'));
      }
      if (data.length < lineEnd + 2 + size + 2) return null;
      chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // Neither length nor chunks: the body runs to the end of the connection, which we never wait for.
  return 'error';
}

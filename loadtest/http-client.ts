import https from 'node:https';
import { Http1Pool, type HttpAnswer } from './http1-pool.ts';

export type { HttpAnswer } from './http1-pool.ts';

export interface HttpClientOptions {
  /** Sockets kept open to the server at most; requests beyond wait in the agent's queue. @default 64 */
  connections?: number;
  /** A request without a full answer after this long fails (counted as "network"). @default 30000 */
  timeoutMs?: number;
}

/**
 * A small keep-alive HTTP client: a fixed pool of sockets, no per-request allocation beyond the
 * request itself. Plain http goes through {@link Http1Pool} (a third of node:http's CPU per
 * request; global fetch costs twice node:http's; undici 7's `Pool` measured 0.33–0.45 ms of client
 * CPU per request against its 0.24–0.29, at 500 requests/s to the bare server), https through
 * node:https. The generator shares
 * the machine with what it measures, so what it spends per request is taken from the platform.
 */
export class HttpClient {
  private readonly agent: https.Agent | null;
  private readonly pool: Http1Pool | null;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: HttpClientOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${baseUrl}: only http and https URLs are supported`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    this.basePath = url.pathname.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const connections = options.connections ?? 64;
    this.pool = url.protocol === 'http:' ? new Http1Pool(this.host, this.port, connections) : null;
    this.agent = this.pool ? null : new https.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  /** One request; resolves with any HTTP answer, rejects only when there was none. */
  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    if (this.pool) return this.pool.request(method, this.basePath + path, headers, body, this.timeoutMs);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          agent: this.agent!,
          host: this.host,
          port: this.port,
          method,
          path: this.basePath + path,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A JSON request that must answer `expect`; returns the parsed body. */
  async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, expect: number[] = [200, 201]): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
    if (!expect.includes(res.status)) throw new HttpStatusError(method, path, res);
    return (res.text ? JSON.parse(res.text) : null) as T;
  }

  /** Closes every socket. */
  close(): void {
    this.pool?.close();
    this.agent?.destroy();
  }
}

/** An answer with a status the caller did not expect. */
export class HttpStatusError extends Error {
  constructor(
    method: string,
    path: string,
    readonly answer: HttpAnswer,
  ) {
    super(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    this.name = 'HttpStatusError';
  }
}

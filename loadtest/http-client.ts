import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpClientOptions {
  /** Sockets kept open to the server at most; requests beyond wait in the agent's queue. @default 64 */
  connections?: number;
  /** A request without a full answer after this long fails (counted as "network"). @default 30000 */
  timeoutMs?: number;
}

/**
 * A small keep-alive HTTP client on `node:http`: a fixed pool of sockets, no per-request
 * allocation beyond the request itself. global fetch costs about twice the CPU per request,
 * which would make the generator, not the server, the limit of a benchmark.
 */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: HttpClientOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${baseUrl}: only http and https URLs are supported`);
    this.mod = url.protocol === 'https:' ? https : http;
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    this.basePath = url.pathname.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.connections ?? 64, maxFreeSockets: options.connections ?? 64 });
  }

  /** One request; resolves with any HTTP answer, rejects only when there was none. */
  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.mod.request(
        {
          agent: this.agent,
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
    this.agent.destroy();
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

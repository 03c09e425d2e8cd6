import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProviderSim, type ProviderSim, type ProviderSimOptions } from './sim.ts';

/** Test-only helpers: a running simulator, a loopback webhook receiver, polling. */

export const TEST_SECRET = 'test-app-secret';
export const TEST_TOKEN = 'test-provider-token';

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A simulator listening on 127.0.0.1, port 0. */
export interface RunningSim {
  url: string;
  sim: ProviderSim;
  stop(): Promise<void>;
}

/** Starts a simulator with test secrets and fast webhook delays unless overridden. */
export async function startSim(options: Partial<ProviderSimOptions> = {}): Promise<RunningSim> {
  const sim = createProviderSim({
    appSecret: TEST_SECRET,
    accessToken: TEST_TOKEN,
    webhookDelaysMs: { sent: 5, delivered: 15, read: 30 },
    webhookRetry: { baseDelayMs: 10 },
    ...options,
  });
  const server = createServer(sim.handler);
  const url = await listen(server);
  return {
    url,
    sim,
    async stop() {
      await sim.close();
      await closeServer(server);
    },
  };
}

/** A webhook POST as the receiver saw it. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk Meta's nested payloads
  body: any;
}

/** A loopback webhook receiver. */
export interface WebhookReceiver {
  url: string;
  requests: ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * Starts a receiver; `answer(n)` gives the HTTP status for the n-th request (1-based), 200 by
 * default; each answer leaves `delayMs` after its request arrived (a busy receiver).
 */
export async function startReceiver(answer: (n: number) => number = () => 200, delayMs = 0): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.statusCode = answer(requests.length);
      if (delayMs > 0) setTimeout(() => res.end(), delayMs);
      else res.end();
    });
  });
  const url = await listen(server);
  return { url, requests, close: () => closeServer(server) };
}

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An HTTP answer with its parsed JSON body. */
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk Meta's nested webhook payloads */
/**
 * Every WhatsApp status (or message) the receiver got, in arrival order, however they were batched:
 * the simulator puts the events that come due together in one POST, as Meta may.
 */
export function waStatuses(requests: ReceivedWebhook[]): any[] {
  return requests.flatMap((r) => r.body.entry.flatMap((e: any) => e.changes.flatMap((c: any) => c.value.statuses ?? [])));
}

/** Every WhatsApp inbound message the receiver got, in arrival order, however they were batched. */
export function waMessages(requests: ReceivedWebhook[]): any[] {
  return requests.flatMap((r) => r.body.entry.flatMap((e: any) => e.changes.flatMap((c: any) => c.value.messages ?? [])));
}

/** Every Instagram messaging event the receiver got, in arrival order, however they were batched. */
export function igEvents(requests: ReceivedWebhook[]): any[] {
  return requests.flatMap((r) => r.body.entry.flatMap((e: any) => e.messaging ?? []));
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface JsonAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on named fields
  body: any;
}

/** Sends `body` (an object, or a raw string sent as is) and parses the JSON answer. */
export async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** Calls a provider endpoint with the test bearer token. */
export function provider(url: string, body: unknown, token = TEST_TOKEN): Promise<JsonAnswer> {
  return call('POST', url, body, { authorization: `Bearer ${token}` });
}

/** Waits until the simulator has no webhook scheduled or being retried. */
export async function webhooksIdle(run: RunningSim): Promise<void> {
  await waitFor('webhooks to settle', async () => {
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body;
    return stats.whatsapp.webhooks.pending === 0 && stats.instagram.webhooks.pending === 0;
  });
}

/** A WhatsApp text send body. */
export function waText(to: string, body: string): unknown {
  return { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { preview_url: false, body } };
}

/** One object a {@link MediaServer} serves. */
export interface ServedMedia {
  size: number;
  contentType: string;
  /** Answer this status instead of the bytes. */
  status?: number;
}

/** A loopback server of media files, the link a provider fetches in tests. */
export interface MediaServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Serves `media` at `path` (`/a.png`) and returns its URL. */
  serve(path: string, media: ServedMedia): string;
  /** How many GETs each path got. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;
const PATTERN = Buffer.from(Array.from({ length: CHUNK + 251 }, (_, i) => i % 251));

/**
 * Deterministic content of `size` bytes (byte i is `i % 251`), in 64 KiB chunks made on demand, so
 * a large media never sits in memory whole.
 */
export function* mediaBytes(size: number): Generator<Buffer> {
  for (let start = 0; start < size; start += CHUNK) {
    const offset = start % 251;
    yield PATTERN.subarray(offset, offset + Math.min(CHUNK, size - start));
  }
}

/** The sha256 (hex) of {@link mediaBytes}`(size)`. */
export function mediaSha256(size: number): string {
  const hash = createHash('sha256');
  for (const chunk of mediaBytes(size)) hash.update(chunk);
  return hash.digest('hex');
}

/** Starts a media server; unknown paths answer 404. */
export async function startMediaServer(): Promise<MediaServer> {
  const served = new Map<string, ServedMedia>();
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const media = served.get(path);
    if (!media || media.status !== undefined) {
      res.statusCode = media?.status ?? 404;
      return void res.end();
    }
    res.writeHead(200, { 'content-type': media.contentType, 'content-length': String(media.size) });
    const chunks = mediaBytes(media.size);
    const next = (): void => {
      for (;;) {
        const c = chunks.next();
        if (c.done) return void res.end();
        if (!res.write(c.value)) return void res.once('drain', next);
      }
    };
    res.on('close', () => void chunks.return(undefined));
    next();
  });
  const url = await listen(server);
  return {
    url,
    hits,
    serve(path, media) {
      served.set(path, media);
      return `${url}${path}`;
    },
    close: () => closeServer(server),
  };
}

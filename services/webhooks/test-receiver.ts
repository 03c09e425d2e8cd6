import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One callback as a receiver saw it. */
export interface ReceivedCallback {
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
}

/**
 * A webhook receiver for tests on 127.0.0.1 and a free port: it answers the statuses in
 * `statuses` in turn (the last one repeats) and keeps every callback, answering `delayMs` after
 * the body arrived (a slow endpoint).
 */
export async function startTestReceiver(statuses: number[] = [200], options: { delayMs?: number } = {}) {
  const received: ReceivedCallback[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody);
      } catch {
        // keep the raw body only
      }
      received.push({ headers: req.headers, rawBody, body });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
      const answer = () => res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
      if (options.delayMs) setTimeout(answer, options.delayMs).unref();
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

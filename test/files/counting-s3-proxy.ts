import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One part PUT seen on the wire. */
export interface SeenPut {
  part_number: number;
  /** The answer's status; 0 when the client went away before an answer (killed mid-part). */
  status: number;
  bytes: number;
}

/**
 * A loopback proxy in front of a local S3 that counts the part PUTs clients send it (the API's
 * presigned URLs point here through `S3_PUBLIC_ENDPOINT`). It forwards the Host header as it
 * came, so the presigned signatures still match. `stored` adds up the bytes of the parts S3
 * answered 200 to, so a test can act at a given share of an upload.
 */
export async function startCountingS3Proxy(upstream: string) {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const puts: SeenPut[] = [];
  let stored = 0;
  let lastAnswerAt = 0;
  let holdAt = Infinity;
  const held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const partNumber = req.method === 'PUT' ? Number(url.searchParams.get('partNumber') ?? 0) : 0;
    // Every part PUT that arrives counts, held or not (a killed client's held PUT stays status 0).
    const seen: SeenPut | undefined = partNumber ? { part_number: partNumber, status: 0, bytes: 0 } : undefined;
    if (seen) puts.push(seen);
    // Past the hold mark, new part PUTs wait (the client sees a stalled network) until release().
    if (seen && stored >= holdAt) {
      held.push(() => forward(req, res, seen));
      return;
    }
    forward(req, res, seen);
  });
  function forward(req: http.IncomingMessage, res: http.ServerResponse, seen: SeenPut | undefined) {
    if (req.destroyed || res.destroyed) return;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      if (seen) {
        seen.status = answer.statusCode ?? 0;
        lastAnswerAt = Date.now();
        if (seen.status === 200) stored += seen.bytes;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('data', (c: Buffer) => seen && (seen.bytes += c.length));
    req.on('error', () => up.destroy());
    res.on('close', () => !res.writableFinished && up.destroy());
    req.pipe(up);
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    /** When S3 last answered a part PUT (ms since the epoch). */
    lastAnswerAt: () => lastAnswerAt,
    /** Bytes of parts S3 stored (answered 200). */
    stored: () => stored,
    /** From when `bytes` are stored, hold new part PUTs (a kill then lands mid-upload, whatever the speed). */
    holdAt(bytes: number) {
      holdAt = bytes;
    },
    /** Part PUTs waiting. */
    held: () => held.length,
    /** Stops holding; requests still waiting (of a live client) go on. */
    release() {
      holdAt = Infinity;
      for (const go of held.splice(0)) go();
    },
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

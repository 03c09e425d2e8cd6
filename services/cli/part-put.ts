import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { PartRange } from './upload-plan.ts';

/** Why a part PUT to object storage failed, and whether sending it again can help. */
export class PartPutError extends Error {
  constructor(
    message: string,
    /** `expired`: the presigned URL is refused (403): ask the API for a fresh one, then retry. */
    readonly kind: 'expired' | 'retriable' | 'permanent',
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PartPutError';
  }
}

/** Keep-alive agents for the part PUTs of one upload (one socket per worker); `destroy()` at the end. */
export function partAgents(maxSockets: number) {
  const opts = { keepAlive: true, maxSockets };
  const agents = { http: new http.Agent(opts), https: new https.Agent(opts) };
  return { ...agents, destroy: () => (agents.http.destroy(), agents.https.destroy()) };
}

/**
 * PUTs one part of `path` to a presigned URL, streamed from disk (`createReadStream` with the
 * part's byte range: never the whole part in memory), with its Content-Length (S3 refuses a
 * chunked body on a presigned PUT). Resolves with the ETag S3 answered; `onBytes` hears the bytes
 * read as they go (negative at the end if the PUT failed, so progress goes back).
 */
export function putPart(
  url: string,
  path: string,
  part: PartRange,
  opts: { agents?: ReturnType<typeof partAgents>; signal?: AbortSignal; onBytes?: (n: number) => void; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    let sent = 0;
    let settled = false;
    const fail = (err: PartPutError) => {
      if (settled) return;
      settled = true;
      if (sent) opts.onBytes?.(-sent);
      reject(err);
    };
    const req = lib.request(u, {
      method: 'PUT',
      agent: u.protocol === 'https:' ? opts.agents?.https : opts.agents?.http,
      headers: { 'content-length': String(part.size) },
      signal: opts.signal,
      timeout: opts.timeoutMs ?? 120_000,
    });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', (err) => fail(new PartPutError(`part ${part.part_number}: ${err.message}`, opts.signal?.aborted ? 'permanent' : 'retriable')));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on('error', (err) => fail(new PartPutError(`part ${part.part_number}: ${err.message}`, 'retriable')));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const etag = res.headers.etag;
        if (status >= 200 && status < 300 && etag) {
          settled = true;
          return resolve(etag);
        }
        const body = Buffer.concat(chunks).toString('utf8');
        const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
        const what = `part ${part.part_number}: object storage answered ${status}${code ? ` ${code}` : ''}`;
        // A presigned URL past its expiry (or signed for other keys) is refused with 403: a fresh URL from the API fixes it.
        if (status === 403) return fail(new PartPutError(what, 'expired', status));
        fail(new PartPutError(what, status >= 500 || status === 429 || status === 408 ? 'retriable' : 'permanent', status));
      });
    });
    if (part.size === 0) {
      req.end();
      return;
    }
    const file = createReadStream(path, { start: part.start, end: part.end, highWaterMark: 256 * 1024 });
    file.on('data', (c) => {
      sent += c.length;
      opts.onBytes?.(c.length);
    });
    file.on('error', (err) => {
      req.destroy(err);
      fail(new PartPutError(`part ${part.part_number}: reading ${path}: ${err.message}`, 'permanent'));
    });
    file.pipe(req);
  });
}

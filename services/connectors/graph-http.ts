import http from 'node:http';
import https from 'node:https';

/** What a provider answered to one POST: its status, its headers when asked for, its whole body. */
export interface GraphAnswer {
  status: number;
  /** A header of the answer (names lower-case), or null; repeated headers joined with ", ". */
  header(name: string): string | null;
  text: string;
}

/** POSTs one JSON body to one fixed provider URL; rejects like fetch when no answer comes. */
export type GraphEndpoint = (body: string, timeoutMs: number) => Promise<GraphAnswer>;

/**
 * Sockets to one provider endpoint at once. A connector makes at most `CONSUMER_KEY_CONCURRENCY`
 * calls per partition batch, a few batches at a time; above this, calls queue in the agent
 * instead of opening more connections than the provider (or the simulator) wants to serve.
 */
export const MAX_PROVIDER_SOCKETS = 64;

/**
 * A provider endpoint on `node:http` with keep-alive sockets of its own, for the send path:
 * the URL is parsed and the constant headers (host, bearer token, JSON types) serialised once,
 * and an answer is a plain object, not a fetch `Response` (with its `Headers` and body stream,
 * which cost more CPU than the rest of a send). Failures look like fetch's, so
 * `providerErrorFromFetchFailure` reads them alike: a `TimeoutError` when no whole answer came
 * within `timeoutMs` (body included), or the socket's error with its `code` (`ECONNREFUSED`).
 */
export function httpEndpoint(url: string, accessToken: string): GraphEndpoint {
  const target = new URL(url);
  const protocol = target.protocol;
  // As fetch did: each call fails (a network error, retriable), the process still starts.
  if (protocol !== 'http:' && protocol !== 'https:') return () => Promise.reject(new TypeError(`unsupported protocol ${protocol} in ${url}`));
  const tls = protocol === 'https:';
  // The endpoint's own keep-alive sockets; idle ones do not keep the process alive.
  const agent = tls ? new https.Agent({ keepAlive: true, maxSockets: MAX_PROVIDER_SOCKETS }) : new http.Agent({ keepAlive: true, maxSockets: MAX_PROVIDER_SOCKETS });
  const request = tls ? https.request : http.request;
  const base = {
    agent,
    protocol,
    hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: target.port || undefined,
    path: `${target.pathname}${target.search}`,
    method: 'POST',
  };
  // Flat name/value pairs: node:http writes them as they are, without a header object per call.
  const constant = ['host', target.host, 'authorization', `Bearer ${accessToken}`, 'content-type', 'application/json', 'accept', 'application/json'];

  return (body, timeoutMs) =>
    new Promise<GraphAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = request({ ...base, headers: [...constant, 'content-length', String(Buffer.byteLength(body))] }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          // The header object is built by node only when read: on the error path.
          const header = (name: string) => {
            const v = res.headers[name];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          };
          resolve({ status: res.statusCode ?? 0, header, text });
        });
        // Closed before its end: the provider (or the network) cut the answer short.
        res.on('close', () => fail(Object.assign(new Error('the answer was cut short'), { code: 'ECONNRESET' })));
      });
      const timer = setTimeout(() => fail(timeoutError(timeoutMs)), timeoutMs);
      req.on('error', fail);
      req.end(body);
    });
}

// The name fetch's `AbortSignal.timeout` gives its reason, which the error translation looks for.
function timeoutError(timeoutMs: number): Error {
  const err = new Error(`no answer within ${timeoutMs} ms`);
  err.name = 'TimeoutError';
  return err;
}

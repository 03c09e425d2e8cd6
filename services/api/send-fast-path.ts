import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { RouteContext } from './api-deps.ts';
import { bearerToken } from './auth.ts';
import { toAppError } from './error-handler.ts';
import { MAX_BODY_BYTES } from './json-body.ts';
import { countRejection, sendHandler, type SendAnswer } from './message-routes.ts';
import { traceIdOf, traceRequested } from './trace-id.ts';
import { badRequest } from '../core/errors.ts';
import { tooDeep } from '../core/body-errors.ts';
import { jsonTooDeep } from '../core/json-depth.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../core/problem.ts';

const PATH = '/v1/messages';
const JSON_TYPES = new Set(['application/json', 'application/json;charset=utf-8']);

/**
 * `POST /v1/messages`, the path every message takes, answered before Express's middleware chain:
 * its routers, body parser and response helpers cost more than the rest of a send. It answers
 * exactly as the Express route does (`message-routes.ts`, tested side by side in
 * send-fast-path.test.ts): the same trace id, security headers, request metrics, 401, 400 (bad or
 * too deeply nested JSON, invalid fields), 404, 409, 429 and 503 problems. Only the plain case
 * takes it: the exact path and a UTF-8 `application/json` body of a declared, allowed length, not
 * compressed. Anything else (no body, chunked, another media type or charset, too large, a query
 * string) goes on to the Express route, which handles the unusual. It is both the app's first
 * middleware and, in a served API, the server's own first handler (`listenService`'s `first`), so
 * the sends it takes skip Express's request set-up and routing altogether.
 */
export function sendFastPath(ctx: RouteContext) {
  const send = sendHandler(ctx);
  const security = securityHeaders();
  const maxDepth = ctx.config.maxJsonDepth;
  const counted = new Map<number, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
  const countersOf = (status: number) => {
    let c = counted.get(status);
    if (!c) {
      const labels = { method: 'POST', route: PATH, status: String(status) };
      counted.set(status, (c = { requests: ctx.metrics.httpRequests.labels(labels), duration: ctx.metrics.httpDuration.labels(labels) }));
    }
    return c;
  };

  const answer = (res: ServerResponse, status: number, contentType: string, text: string, traceId: string, started: number, extra?: Record<string, string>) => {
    const headers: OutgoingHttpHeader[] = [...security, 'x-trace-id', traceId];
    if (extra) for (const k in extra) headers.push(k, extra[k]!);
    headers.push('content-type', contentType, 'content-length', String(Buffer.byteLength(text)));
    res.writeHead(status, headers as unknown as string[]).end(text);
    const c = countersOf(status);
    c.requests.inc();
    c.duration.observe((performance.now() - started) / 1000);
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, err: unknown, traceId: string, started: number) => {
    if (res.headersSent || res.destroyed) return;
    countRejection(ctx, err);
    // As the error handler does: unexpected errors and 5xx are logged, client errors are not.
    const known = toAppError(err);
    if (!known || known.status >= 500) {
      ctx.logger[known ? 'warn' : 'error']({ err, method: req.method, path: PATH, trace_id: traceId }, 'request failed');
    }
    const { problem, headers } = toProblem(known ?? err, PATH);
    answer(res, problem.status, `${PROBLEM_CONTENT_TYPE}; charset=utf-8`, JSON.stringify(problem), traceId, started, headers);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, traceId: string, started: number) => {
    let result: SendAnswer;
    try {
      const caller = await ctx.auth.verify(bearerToken(req.headers.authorization));
      const raw = await readBody(req);
      if (raw === undefined) return; // the client went away: nobody to answer
      if (jsonTooDeep(raw, maxDepth)) throw tooDeep(maxDepth);
      result = await send(caller, parseJson(raw), traceId, traceRequested(req));
    } catch (err) {
      return refuse(req, res, err, traceId, started);
    }
    answer(res, 202, 'application/json; charset=utf-8', JSON.stringify(result), traceId, started);
  };

  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method !== 'POST' || req.url !== PATH) return next();
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!(length > 0 && length <= MAX_BODY_BYTES) || h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return next();
    if (!JSON_TYPES.has((h['content-type'] ?? '').toLowerCase().replaceAll(' ', ''))) return next();
    void serve(req, res, traceIdOf(req), performance.now());
  };
}

/** The whole body, or undefined when the client aborted. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(undefined)); // after 'end' this changes nothing
  });
}

/**
 * The body as the JSON parser of the Express route reads it (`express.json({ strict: true })`): a
 * UTF-8 byte order mark is skipped, and only an object or an array is taken.
 */
function parseJson(raw: Buffer): unknown {
  const text = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.toString('utf8', 3) : raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null) throw badRequest('the body is not valid JSON (a JSON object is expected)');
  return value;
}

/** The headers `helmet()` (the app's security headers) sets on every answer, as name, value pairs. */
function securityHeaders(): string[] {
  const out: string[] = [];
  const res = {
    setHeader: (name: string, value: string) => void out.push(name, value),
    removeHeader: () => undefined,
  };
  helmet()({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return out;
}

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tooDeep } from '../core/body-errors.ts';
import { jsonTooDeep } from '../core/json-depth.ts';
import { PROBLEM_CONTENT_TYPE } from '../core/problem.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { RECEIVED, webhookProblem, webhookTaker, type WebhookDeps } from './webhook-routes.ts';

/**
 * `POST /webhooks/{channel}`, the path every provider status takes, answered before Express's
 * router, body parser and response helpers (which cost more than the rest of a status webhook).
 * It answers exactly as the Express route does (`webhook-routes.ts`, tested side by side in
 * webhook-fast-path.test.ts): the same 200, and the same problems for a bad signature, a body
 * that is not JSON or is nested too deeply, a status not recorded yet (503) or a message not
 * stored. Only the plain case takes it: the exact path of a known channel, a body of a declared
 * length within `PROVIDER_WEBHOOK_MAX_BYTES`, not compressed. Anything else (chunked, encoded,
 * too large, a query string, another method) goes on to the Express route.
 */
export function webhookFastPath(deps: WebhookDeps) {
  const take = webhookTaker(deps);
  const maxBytes = deps.config.providerWebhookMaxBytes;
  const maxDepth = deps.config.maxJsonDepth;
  const byPath = new Map<string, ChannelConnector>();
  for (const [channel, connector] of deps.connectors) byPath.set(`/webhooks/${channel}`, connector);
  const received = JSON.stringify(RECEIVED);
  const receivedETag = weakETag(received);

  const answer = (res: ServerResponse, status: number, contentType: string, text: string, extra?: Record<string, string>) => {
    if (res.headersSent || res.destroyed) return;
    const headers: string[] = [];
    if (extra) for (const k in extra) headers.push(k, extra[k]!);
    headers.push('content-type', contentType, 'content-length', String(Buffer.byteLength(text)), 'etag', text === received ? receivedETag : weakETag(text));
    res.writeHead(status, headers).end(text);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, connector: ChannelConnector) => {
    try {
      const raw = await readBody(req);
      if (raw === undefined) return; // the provider went away: nobody to answer
      // Before the connector's JSON.parse, so nothing recurses into a deeply nested body.
      if (jsonTooDeep(raw, maxDepth)) throw tooDeep(maxDepth);
      await take(connector, raw, req.headers);
    } catch (err) {
      const { problem, headers } = webhookProblem(deps, err);
      return answer(res, problem.status, `${PROBLEM_CONTENT_TYPE}; charset=utf-8`, JSON.stringify(problem), headers);
    }
    answer(res, 200, 'application/json; charset=utf-8', received);
  };

  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method !== 'POST') return next();
    const connector = byPath.get(req.url ?? '');
    if (!connector) return next();
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!(length > 0 && length <= maxBytes) || h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return next();
    void serve(req, res, connector);
  };
}

/** The whole body, or undefined when the sender aborted. */
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

/** The weak ETag Express puts on a body it sends (`etag` with `weak: true`): length and SHA-1. */
function weakETag(text: string): string {
  const length = Buffer.byteLength(text);
  if (length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  return `W/"${length.toString(16)}-${createHash('sha1').update(text, 'utf8').digest('base64').substring(0, 27)}"`;
}

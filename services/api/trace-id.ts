import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The trace id of a request: the trace-id of a W3C `traceparent`, else a sane `x-request-id`,
 * else a fresh random 32-hex id. Anything else is ignored rather than copied into logs.
 */
export function traceIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  const traceparent = req.headers.traceparent;
  if (typeof traceparent === 'string') {
    const tp = TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (tp && !/^0+$/.test(tp[1]!)) return tp[1]!;
  }
  const rid = req.headers['x-request-id'];
  if (typeof rid === 'string') {
    const trimmed = rid.trim();
    if (trimmed && REQUEST_ID.test(trimmed)) return trimmed;
  }
  // A v4 UUID without its dashes: 122 random bits, and node draws UUIDs from a cached pool of
  // entropy, where randomBytes(16) asked the system for every request.
  return randomUUID().replaceAll('-', '');
}

/**
 * Whether the client asked for this request to be traced: a `traceparent` whose trace id
 * {@link traceIdOf} takes and whose `sampled` flag is set, or an `x-request-id` it takes. The
 * per-message log line of a send is written at info only for these: following one request stays
 * a grep away, and a flood of untraced sends does not pay a log write each (debug shows them all).
 */
export function traceRequested(req: Pick<IncomingMessage, 'headers'>): boolean {
  const traceparent = req.headers.traceparent;
  if (typeof traceparent === 'string') {
    const tp = TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (tp && !/^0+$/.test(tp[1]!)) return (Number.parseInt(tp[2]!, 16) & 1) === 1;
  }
  const rid = req.headers['x-request-id'];
  return typeof rid === 'string' && REQUEST_ID.test(rid.trim());
}

/** Puts the trace id in `res.locals.traceId` and echoes it in `x-trace-id`. */
export function traceId() {
  return (req: Request, res: Response, next: NextFunction) => {
    const id = traceIdOf(req);
    res.locals.traceId = id;
    res.setHeader('x-trace-id', id);
    next();
  };
}

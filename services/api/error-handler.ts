import type { NextFunction, Request, Response } from 'express';
import { bodyReadError } from '../core/body-errors.ts';
import { AppError, unavailable } from '../core/errors.ts';
import { ObjectStoreError } from '../core/ports/object-store.ts';
import type { Logger } from '../core/logger.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../core/problem.ts';
import { MAX_BODY_BYTES } from './json-body.ts';

/** Sends an error as `application/problem+json`. */
export function sendProblem(res: Response, err: unknown, instance?: string) {
  const { problem, headers } = toProblem(err, instance);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/**
 * Turns what the body parser and the router throw (plain `http-errors`) into AppErrors, so every
 * client mistake is a 4xx problem and never a 500.
 */
export function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  // The object store failing under a request is a dependency down (503), as the store or the bus.
  if (err instanceof ObjectStoreError && err.retriable) return unavailable('the object store is unavailable; try again', err);
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; expose?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  const body = bodyReadError(err, MAX_BODY_BYTES);
  if (body) return body;
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
  // Express's own client errors (e.g. a path with a malformed %-escape) carry a 4xx status.
  if (status >= 400 && status < 500 && e.expose !== false) {
    return new AppError('bad_request', status === 400 ? 'the request is malformed' : 'the request was refused', { status });
  }
  return null;
}

/** The last middleware: every error leaves as RFC 9457 problem+json, unexpected ones as a bare 500. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const known = toAppError(err);
    if (!known || known.status >= 500) {
      const level = known ? 'warn' : 'error';
      logger[level]({ err, method: req.method, path: req.path, trace_id: res.locals.traceId }, 'request failed');
    }
    sendProblem(res, known ?? err, req.originalUrl.split('?')[0]);
  };
}

/** Answers 404 for any path no route matched. */
export function notFoundHandler() {
  return (req: Request) => {
    throw new AppError('not_found', `no route for ${req.method} ${req.path}`.slice(0, 300), { status: 404 });
  };
}

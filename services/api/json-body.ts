import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../core/errors.ts';

/** Largest JSON body the API reads; a bigger one answers 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Middleware for routes that take a JSON body: a body of another media type answers 415, a body
 * over 64 KiB 413, malformed JSON 400 (the parser's errors are rendered by the error handler).
 * A request without a body gets `{}`, so validation names the missing fields.
 */
export function jsonBody() {
  const parse = express.json({ limit: MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      throw new AppError('unsupported_media_type', 'the body must be application/json', { status: 415 });
    }
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.body === undefined) req.body = {};
      next();
    });
  };
}

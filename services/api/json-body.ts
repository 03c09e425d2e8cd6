import express, { type NextFunction, type Request, type Response } from 'express';
import { tooDeep } from '../core/body-errors.ts';
import { AppError } from '../core/errors.ts';
import { jsonTooDeep } from '../core/json-depth.ts';

/** Largest JSON body the API reads; a bigger one answers 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The Express app setting that holds the deepest JSON nesting bodies may have (`MAX_JSON_DEPTH`). */
export const MAX_JSON_DEPTH_SETTING = 'json max depth';
const DEFAULT_MAX_JSON_DEPTH = 32;

/**
 * Middleware for routes that take a JSON body: a body of another media type answers 415, a body
 * over 64 KiB 413, one nested deeper than the app's `json max depth` setting 400 (checked on the
 * raw bytes before parsing, so nothing recurses into it), malformed JSON 400 (the parser's errors
 * are rendered by the error handler). A request without a body gets `{}`, so validation names the
 * missing fields.
 */
export function jsonBody() {
  const parse = express.json({
    limit: MAX_BODY_BYTES,
    strict: true,
    type: ['application/json', 'application/*+json'],
    verify: (req, _res, buf) => {
      const setting = (req as Request).app?.get(MAX_JSON_DEPTH_SETTING) as number | undefined;
      const maxDepth = setting ?? DEFAULT_MAX_JSON_DEPTH;
      // Thrown here, the error keeps its 400 through body-parser and reaches the error handler as is.
      if (jsonTooDeep(buf, maxDepth)) throw tooDeep(maxDepth);
    },
  });
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

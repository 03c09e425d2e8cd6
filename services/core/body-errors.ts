import { AppError, badRequest } from './errors.ts';

/** The refusal of a JSON body nested deeper than `maxDepth` (see `jsonTooDeep`). */
export function tooDeep(maxDepth: number): AppError {
  return badRequest(`the body nests arrays and objects more than ${maxDepth} deep`);
}

/**
 * Translates what Express's body parsers throw (plain `http-errors` with a `type`) into the
 * platform's errors, so a client's too-large or unreadable body is a 4xx problem, never a 500.
 * `maxBytes` names the limit in the 413's detail. Null for anything that is not a body error.
 */
export function bodyReadError(err: unknown, maxBytes: number): AppError | null {
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new AppError('too_large', `the body is larger than ${formatBytes(maxBytes)}`, { status: 413 });
    case 'entity.parse.failed':
      return badRequest('the body is not valid JSON (a JSON object is expected)');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'unsupported content encoding or charset', { status: 415 });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return badRequest('the body could not be read');
  }
  return null;
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

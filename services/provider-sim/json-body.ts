/** A parsed provider request body, or why it could not be parsed. */
export type JsonBody = { ok: true; value: unknown } | { ok: false; details: string };

/** Parses a raw request body as JSON; an empty body parses as `undefined`. */
export function parseJsonBody(raw: unknown): JsonBody {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, details: `malformed JSON body: ${(err as Error).message}` };
  }
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

/** Outcome of validating a provider request: the parsed value, or the details of a code-100 error. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; details: string };

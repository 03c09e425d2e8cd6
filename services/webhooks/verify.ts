import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers every callback carries (documented in docs/webhooks.md). */
export const WEBHOOK_HEADERS = {
  id: 'chat4all-webhook-id',
  timestamp: 'chat4all-webhook-timestamp',
  signature: 'chat4all-webhook-signature',
} as const;

/** How old a callback's timestamp may be before the verifier refuses it (replay window). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
  return `v1=${mac}`;
}

/** Node's `req.headers`, a fetch `Headers`, or a plain object of header names to values. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export type VerifyResult =
  | { valid: true; eventId: string; timestamp: number }
  | { valid: false; reason: 'missing_headers' | 'bad_timestamp' | 'timestamp_outside_tolerance' | 'bad_signature' };

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const obj = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : obj[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a callback as a receiver should: the signature must be an HMAC of exactly the bytes
 * received (verify before parsing JSON), and the timestamp within `toleranceSeconds` of `now`
 * (epoch ms) either way, so a captured callback cannot be replayed later. The signature header
 * may hold several space-separated `v1=` values (one per secret during a rotation); one match is enough.
 */
export function verifyWebhook(
  rawBody: string | Buffer,
  headers: HeaderSource,
  secret: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): VerifyResult {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now();
  const id = header(headers, WEBHOOK_HEADERS.id);
  const ts = header(headers, WEBHOOK_HEADERS.timestamp);
  const sig = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !ts || !sig) return { valid: false, reason: 'missing_headers' };
  if (!/^[0-9]{1,12}$/.test(ts)) return { valid: false, reason: 'bad_timestamp' };
  const timestamp = Number(ts);
  if (Math.abs(now / 1000 - timestamp) > tolerance) return { valid: false, reason: 'timestamp_outside_tolerance' };
  const expected = Buffer.from(signWebhook(secret, timestamp, rawBody));
  const match = sig
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((candidate) => {
      const given = Buffer.from(candidate);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  return match ? { valid: true, eventId: id, timestamp } : { valid: false, reason: 'bad_signature' };
}

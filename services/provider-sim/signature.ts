import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `X-Hub-Signature-256` header value Meta puts on every webhook POST:
 * `sha256=<hex HMAC-SHA256(raw body, app secret)>`.
 */
export function signWebhookBody(rawBody: string | Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** Checks a `X-Hub-Signature-256` header against the raw body, in constant time. */
export function verifyWebhookSignature(
  rawBody: string | Buffer,
  header: string | undefined,
  appSecret: string,
): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(rawBody, appSecret));
  const actual = Buffer.from(header);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

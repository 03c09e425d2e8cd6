import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import type { WebhookRequest } from './channel-connector.ts';

/** The header Meta signs every webhook POST with. Node lower-cases header names. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<hex HMAC-SHA256(rawBody, appSecret)>`, as Meta (and the simulator) sign webhooks. */
export function signMetaPayload(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `header` is the signature of exactly these raw bytes. Compares in constant time;
 * false on a missing, repeated or malformed header, and on an empty secret (anyone could sign
 * with an empty key, so it must never verify).
 */
export function verifyMetaSignature(
  rawBody: Buffer | string,
  header: string | string[] | null | undefined,
  appSecret: string,
): boolean {
  if (!appSecret || typeof header !== 'string') return false;
  const match = SIGNATURE.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Answers the provider's subscription handshake
 * (`GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=X`): 200 with the challenge when
 * the mode is `subscribe` and the token matches, else 403. Send the body as `text/plain`: it is
 * caller-supplied.
 */
export function verifySubscription(query: Record<string, unknown>, verifyToken: string): { status: number; body: string } {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string' || !verifyToken) {
    return { status: 403, body: 'forbidden' };
  }
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const same = timingSafeEqual(sha256(token), sha256(verifyToken));
  return same ? { status: 200, body: challenge } : { status: 403, body: 'forbidden' };
}

/**
 * Verifies the `X-Hub-Signature-256` of a webhook over its raw bytes and parses its JSON.
 * Throws AppError 401 `bad_signature` or 400 `bad_webhook`.
 */
export function readSignedWebhook(request: WebhookRequest, appSecret: string): unknown {
  const header = headerValue(request.headers, SIGNATURE_HEADER);
  if (header === undefined) {
    throw new AppError('bad_signature', 'the webhook has no X-Hub-Signature-256 header', { status: 401 });
  }
  if (!verifyMetaSignature(request.rawBody, header, appSecret)) {
    throw new AppError('bad_signature', 'X-Hub-Signature-256 does not match the body', { status: 401 });
  }
  try {
    return JSON.parse(request.rawBody.toString('utf8')) as unknown;
  } catch (err) {
    throw new AppError('bad_webhook', 'the webhook body is not JSON', { status: 400, cause: err });
  }
}

// Callers outside node:http (tests, other frameworks) may not lower-case header names.
function headerValue(headers: WebhookRequest['headers'], name: string): string | string[] | undefined {
  if (name in headers) return headers[name];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

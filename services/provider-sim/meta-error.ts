import { randomBytes } from 'node:crypto';
import type { Channel } from './channel.ts';

/** Meta's Graph API error envelope, as both providers answer it. */
export interface MetaErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    /** Meta's finer reason within `code` (Instagram: `2018008` the attachment could not be fetched). */
    error_subcode?: number;
    error_data?: { messaging_product?: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

/** A Meta error ready to send: HTTP status, body and extra headers. */
export interface MetaErrorAnswer {
  status: number;
  body: MetaErrorBody;
  headers: Record<string, string>;
}

const TITLES: Record<number, string> = {
  1: 'An unknown error occurred',
  2: 'Service temporarily unavailable',
  4: 'Application request limit reached',
  100: 'Invalid parameter',
  190: 'Invalid OAuth access token',
  551: "This person isn't available right now",
  613: 'Calls to this api have exceeded the rate limit',
  80007: 'Rate limit issues',
  130429: 'Rate limit hit',
  131000: 'Something went wrong',
  131026: 'Message Undeliverable',
  131047: 'Re-engagement message',
  131048: 'Spam rate limit hit',
  131049: 'Meta chose not to deliver',
  131053: 'Media upload error',
  131056: '(Business Account, Consumer Account) pair rate limit hit',
};

/** Messages of Instagram (Messenger Platform) subcodes of code 100 for attachments. */
const SUBCODE_TITLES: Record<number, string> = {
  2018008: 'Failed to fetch the file from the url',
  2018047: 'Upload attachment failure',
  2018109: 'Attachment size exceeds allowable limit',
};

/** Codes a client should retry later; the simulator answers them with HTTP 429 and `Retry-After`. */
export const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([4, 613, 80007, 130429, 131056]);

const SERVER_ERROR_CODES: ReadonlySet<number> = new Set([1, 2, 131000]);

/**
 * HTTP status the simulator uses for a Meta error code. Meta itself answers most errors
 * with 400; the simulator makes transient ones recognisable by status too, so connectors
 * exercise both their status-based and code-based retry rules.
 */
export function httpStatusForMetaCode(code: number): number {
  if (code === 2) return 503;
  if (RATE_LIMIT_CODES.has(code)) return 429;
  if (SERVER_ERROR_CODES.has(code)) return 500;
  if (code === 190) return 401;
  return 400;
}

/** A random trace id shaped like Meta's `fbtrace_id`. */
export function fbtraceId(): string {
  return randomBytes(8).toString('base64url').slice(0, 11);
}

/**
 * Builds the answer for a Meta error `code` (and `subcode`, given as `error_subcode`);
 * `details` goes to `error_data.details` (defaults to the subcode's or code's title).
 */
export function metaError(channel: Channel, code: number, details?: string, subcode?: number): MetaErrorAnswer {
  const title = (subcode !== undefined ? SUBCODE_TITLES[subcode] : undefined) ?? TITLES[code] ?? 'Simulated provider error';
  const headers: Record<string, string> = {};
  if (RATE_LIMIT_CODES.has(code)) headers['retry-after'] = '1';
  if (code === 190) headers['www-authenticate'] = 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"';
  const error: MetaErrorBody['error'] = {
    // With a subcode Meta's message is the subcode's fixed text; the specifics are in the details.
    message: `(#${code}) ${subcode !== undefined ? title : (details ?? title)}`,
    type: 'OAuthException',
    code,
    ...(subcode !== undefined ? { error_subcode: subcode } : {}),
    error_data: { details: details ?? title },
    fbtrace_id: fbtraceId(),
  };
  if (channel === 'whatsapp') error.error_data = { messaging_product: 'whatsapp', details: details ?? title };
  return { status: httpStatusForMetaCode(code), body: { error }, headers };
}

import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ExternalChannel } from '../core/domain/types.ts';

/** The bytes of an inbound media as the provider serves them, still streaming. */
export interface FetchedMedia {
  body: Readable;
  /** Bytes announced by the provider (`file_size`, `Content-Length`); undefined when it did not say. */
  size?: number;
  content_type?: string;
  /** Hex sha256 the provider reports for the bytes (WhatsApp), to check what was read. */
  sha256?: string;
}

/** How far one media fetch may go. */
export interface MediaFetchLimits {
  /** The most bytes taken; a larger media is refused (`too_large`) before or while reading it. */
  maxBytes: number;
  /** The whole fetch, body included, in ms. */
  timeoutMs: number;
}

/**
 * Why an inbound media could not be fetched: `not_found` (the provider does not know it, or the
 * payload names none), `too_large` (over `maxBytes`), `unavailable` (no answer, 5xx, 429, too
 * slow: a later try may work), `bad_response` (an answer we cannot use).
 */
export type MediaFetchReason = 'not_found' | 'too_large' | 'unavailable' | 'bad_response';

/** An inbound media fetch that failed; `retriable` says whether the provider's redelivery may help. */
export class MediaFetchError extends Error {
  readonly reason: MediaFetchReason;
  readonly retriable: boolean;

  constructor(channel: ExternalChannel, reason: MediaFetchReason, message: string, options: { cause?: unknown } = {}) {
    super(`${channel} media: ${message}`, options);
    this.name = 'MediaFetchError';
    this.reason = reason;
    this.retriable = reason === 'unavailable';
  }
}

/**
 * GETs a media URL and answers its body as a stream. Uses the runtime's streaming `fetch` (the
 * plug-ins' keep-alive fetch reads whole bodies, which a 100 MB video must never be). A
 * `Content-Length` over the limit is refused before reading (the reader caps what it reads, as a
 * length may be absent or wrong); `signal` bounds the whole fetch, body included.
 */
export async function fetchMediaBytes(channel: ExternalChannel, url: string, accessToken: string | undefined, limits: MediaFetchLimits, signal: AbortSignal): Promise<FetchedMedia> {
  const res = await getOrThrow(channel, url, accessToken, signal);
  if (!res.body) throw new MediaFetchError(channel, 'bad_response', `HTTP ${res.status} with no body`);
  const length = res.headers.get('content-length');
  const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  if (size !== undefined && size > limits.maxBytes) {
    await res.body.cancel().catch(() => undefined);
    throw new MediaFetchError(channel, 'too_large', `${size} bytes is over the ${limits.maxBytes}-byte limit`);
  }
  const fetched: FetchedMedia = { body: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) };
  if (size !== undefined) fetched.size = size;
  const type = res.headers.get('content-type');
  if (type) fetched.content_type = type.split(';')[0]!.trim();
  return fetched;
}

/** A GET with an optional bearer token, its failures as `MediaFetchError`s. */
export async function getOrThrow(channel: ExternalChannel, url: string, accessToken: string | undefined, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {}, signal, redirect: 'follow' });
  } catch (err) {
    throw new MediaFetchError(channel, 'unavailable', `GET failed: ${(err as Error).message}`, { cause: err });
  }
  if (res.ok) return res;
  await res.body?.cancel().catch(() => undefined);
  // 404 / 400 (Meta's code 100 "unknown id") will not change on a retry; 5xx and 429 may.
  const retriable = res.status >= 500 || res.status === 429 || res.status === 408;
  throw new MediaFetchError(channel, retriable ? 'unavailable' : 'not_found', `GET answered HTTP ${res.status}`);
}

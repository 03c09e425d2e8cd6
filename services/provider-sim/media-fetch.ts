import { createHash } from 'node:crypto';
import { contentTypeEssence } from './media-limits.ts';

/** What fetching a media link gave: the bytes' size, sha256 and type, or why there are none. */
export type MediaFetchResult =
  | { ok: true; size: number; sha256: string; contentType: string }
  | {
      ok: false;
      /** `unreachable` (no answer), `timeout`, `http_error` (a non-2xx answer), `too_large` (more than the limit). */
      reason: 'unreachable' | 'timeout' | 'http_error' | 'too_large';
      details: string;
      httpStatus?: number;
      contentType?: string;
    };

/** Bounds of one media fetch. */
export interface MediaFetchLimits {
  /** The whole fetch, body included, in milliseconds. */
  timeoutMs: number;
  /** More bytes than this is `too_large`: the fetch stops there (the rest is never read). */
  maxBytes: number;
}

/**
 * GETs a media link the way Meta does before it takes a media message: follows redirects, reads
 * the body once, hashing it as it comes (memory stays flat), and stops as soon as it is known to
 * be too large (a `Content-Length` over the limit, or the limit passed while reading).
 */
export async function fetchMedia(url: string, limits: MediaFetchLimits): Promise<MediaFetchResult> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal });
  } catch (err) {
    return failure(err, limits);
  }
  const contentType = contentTypeEssence(res.headers.get('content-type'));
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return { ok: false, reason: 'http_error', httpStatus: res.status, contentType, details: `http code ${res.status}` };
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return tooLarge(declared, limits.maxBytes, contentType);
  }
  const hash = createHash('sha256');
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (size > limits.maxBytes) {
          // Leaving the loop cancels the stream, so the rest of the body is never read.
          return tooLarge(size, limits.maxBytes, contentType);
        }
        hash.update(chunk);
      }
    }
  } catch (err) {
    return failure(err, limits);
  }
  return { ok: true, size, sha256: hash.digest('hex'), contentType };
}

function tooLarge(size: number, maxBytes: number, contentType: string): MediaFetchResult {
  return { ok: false, reason: 'too_large', contentType, details: `media is at least ${size} bytes; the limit is ${maxBytes}` };
}

function failure(err: unknown, limits: MediaFetchLimits): MediaFetchResult {
  const name = (err as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { ok: false, reason: 'timeout', details: `no complete answer within ${limits.timeoutMs} ms` };
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return { ok: false, reason: 'unreachable', details: cause?.code ?? cause?.message ?? (err as Error).message };
}

import type { Channel } from './channel.ts';
import { fetchMedia, type MediaFetchLimits } from './media-fetch.ts';
import { mediaRule } from './media-limits.ts';

/** The media as the simulator fetched it, shown in `/_sim/received` as `media.fetched`. */
export interface FetchedMedia {
  size: number;
  sha256: string;
  content_type: string;
}

/** Why a media link was refused, shown in `/_sim/received` as `media.fetch_error` (WhatsApp). */
export interface MediaRefusal {
  /** `unreachable`, `timeout`, `http_error`, `too_large` or `unsupported_type`. */
  reason: 'unreachable' | 'timeout' | 'http_error' | 'too_large' | 'unsupported_type';
  /** Meta's wording of the problem (WhatsApp's `error_data.details`, Instagram's message). */
  details: string;
}

export type MediaCheck = { ok: true; fetched: FetchedMedia } | { ok: false; refusal: MediaRefusal };

/**
 * Fetches a media link and checks it against the channel's rule for that kind: the size limit
 * (the fetch stops right past it) and the content types the provider takes for the kind.
 */
export async function checkMediaLink(channel: Channel, kind: string, link: string, timeoutMs: number): Promise<MediaCheck> {
  const rule = mediaRule(channel, kind);
  if (!rule) return { ok: false, refusal: { reason: 'unsupported_type', details: `no ${kind} media on ${channel}` } };
  const limits: MediaFetchLimits = { timeoutMs, maxBytes: rule.maxBytes };
  const got = await fetchMedia(link, limits);
  const limitMb = `${rule.maxBytes / (1024 * 1024)}MB`;
  if (!got.ok) {
    const details =
      got.reason === 'too_large'
        ? `Media file size too big. Max file size we currently support: ${limitMb}. ${got.details}`
        : got.reason === 'http_error'
          ? `Downloading media from weblink failed with http code ${got.httpStatus}`
          : `Downloading media from weblink failed: ${got.details}`;
    return { ok: false, refusal: { reason: got.reason, details } };
  }
  if (rule.contentTypes && !rule.contentTypes.has(got.contentType)) {
    const accepted = [...rule.contentTypes].join(', ');
    return {
      ok: false,
      refusal: { reason: 'unsupported_type', details: `Media type ${got.contentType || '(none)'} is not supported for ${kind}; supported: ${accepted}` },
    };
  }
  return { ok: true, fetched: { size: got.size, sha256: got.sha256, content_type: got.contentType } };
}

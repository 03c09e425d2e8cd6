import type { z } from 'zod';
import type { ExternalChannel } from '../core/domain/types.ts';
import { keepAliveFetch } from '../lib/keep-alive-fetch.ts';
import { ProviderError, providerErrorFromFetchFailure, providerErrorFromResponse, readGraphError } from './provider-error.ts';

/** The `fetch` a plug-in calls; injectable so tests and proxies can stand in. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What plug-ins call when given no `fetch`: node:http with keep-alive, shared by the process. */
export const defaultFetch: FetchLike = keepAliveFetch();

export interface GraphPost {
  channel: ExternalChannel;
  url: string;
  accessToken: string;
  body: unknown;
  timeoutMs: number;
  fetch: FetchLike;
}

/**
 * POSTs JSON to a Meta Graph endpoint with a bearer token and returns the JSON object it
 * answered. Every failure leaves as a `ProviderError`: no answer within `timeoutMs`, no
 * connection, an error status, or a success body we cannot read.
 */
export async function postGraph(req: GraphPost): Promise<Record<string, unknown>> {
  let response: Response;
  let text: string;
  try {
    response = await req.fetch(req.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${req.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(req.body),
      // Covers reading the body too: a provider that sends headers and then stalls still times out.
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    throw providerErrorFromFetchFailure(req.channel, err, req.timeoutMs);
  }
  if (!response.ok || readGraphError(text) !== null) {
    throw providerErrorFromResponse(req.channel, response.status, response.headers, text);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw badResponse(req.channel, response.status, `a body that is not a JSON object: ${text.slice(0, 200)}`);
}

/**
 * A success status with a body we cannot use. Not retriable: the provider may have accepted the
 * message, and a retry could deliver it twice.
 */
export function badResponse(channel: ExternalChannel, httpStatus: number, what: string): ProviderError {
  return new ProviderError({
    channel,
    httpStatus,
    code: 'provider_bad_response',
    message: `${channel} answered HTTP ${httpStatus} with ${what}`,
    retriable: false,
  });
}

/** `{baseUrl}/{version}/{...segments}`, each segment escaped; tolerates a trailing slash on baseUrl. */
export function graphUrl(baseUrl: string, version: string, ...segments: string[]): string {
  return [baseUrl.replace(/\/+$/, ''), encodeURIComponent(version), ...segments.map(encodeURIComponent)].join('/');
}

/**
 * The elements of a webhook list that match `schema`. Anything else (not an array, a bad item) is
 * skipped rather than rejected: a 400 makes Meta redeliver the whole batch, good items included.
 */
export function items<T extends z.ZodType>(schema: T, list: unknown): z.output<T>[] {
  if (!Array.isArray(list)) return [];
  const out: z.output<T>[] = [];
  for (const item of list) {
    const r = schema.safeParse(item);
    if (r.success) out.push(r.data);
  }
  return out;
}

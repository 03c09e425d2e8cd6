import type { z } from 'zod';
import type { ExternalChannel } from '../core/domain/types.ts';
import { keepAliveFetch } from '../lib/keep-alive-fetch.ts';
import { httpEndpoint, type GraphAnswer, type GraphEndpoint } from './graph-http.ts';
import { ProviderError, providerErrorFromFetchFailure, providerErrorFromResponse } from './provider-error.ts';

/** The `fetch` a plug-in calls; injectable so tests and proxies can stand in. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What plug-ins call for anything but a send (profile lookups): node:http with keep-alive, shared by the process. */
export const defaultFetch: FetchLike = keepAliveFetch();

/**
 * The endpoint a plug-in sends to, prepared once: through `fetch` when one is given (tests,
 * proxies), else on the lean `node:http` client of `graph-http.ts`.
 */
export function graphEndpoint(url: string, accessToken: string, fetch?: FetchLike): GraphEndpoint {
  if (!fetch) return httpEndpoint(url, accessToken);
  const headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json' };
  return async (body, timeoutMs) => {
    // Covers reading the body too: a provider that sends headers and then stalls still times out.
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    return { status: response.status, header: (name) => response.headers.get(name), text };
  };
}

export interface GraphPost {
  channel: ExternalChannel;
  endpoint: GraphEndpoint;
  body: unknown;
  timeoutMs: number;
}

/**
 * POSTs JSON to a Meta Graph endpoint and returns the JSON object it answered. Every failure
 * leaves as a `ProviderError`: no answer within `timeoutMs`, no connection, an error status, an
 * answer carrying Meta's `error` object, or a success body we cannot read.
 */
export async function postGraph(req: GraphPost): Promise<Record<string, unknown>> {
  let answer: GraphAnswer;
  try {
    answer = await req.endpoint(JSON.stringify(req.body), req.timeoutMs);
  } catch (err) {
    throw providerErrorFromFetchFailure(req.channel, err, req.timeoutMs);
  }
  const { status, text } = answer;
  const headers = { get: answer.header };
  if (status < 200 || status > 299) throw providerErrorFromResponse(req.channel, status, headers, text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badResponse(req.channel, status, `a body that is not a JSON object: ${text.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badResponse(req.channel, status, `a body that is not a JSON object: ${text.slice(0, 200)}`);
  }
  const body = parsed as Record<string, unknown>;
  // A success status with Meta's error object is an error all the same.
  if (typeof body.error === 'object' && body.error !== null) throw providerErrorFromResponse(req.channel, status, headers, text);
  return body;
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

import type { DeliveryError, ExternalChannel } from '../core/domain/types.ts';
import { AppError } from '../core/errors.ts';

/** Provider error codes that say, regardless of the HTTP status, whether a retry can help. */
interface CodeRules {
  retriable: ReadonlySet<number>;
  permanent: ReadonlySet<number>;
}

// Partial on purpose: a channel whose provider has no numeric codes (or that nobody has
// tabulated yet) is classified by HTTP status alone, so adding a channel needs no row here.
const CODE_RULES: Partial<Record<ExternalChannel, CodeRules>> = {
  whatsapp: {
    // 130429 throughput, 131056 pair rate limit, 80007 / 4 app rate limits, 1 / 2 / 131000 temporary.
    retriable: new Set([130429, 131056, 80007, 4, 1, 2, 131000]),
    // 131026 undeliverable, 131047 outside the 24 h window, 131048 spam limit, 131049 ecosystem
    // limit, 100 invalid parameter, 190 expired token.
    permanent: new Set([131026, 131047, 131048, 131049, 100, 190]),
  },
  instagram: {
    // 4 app, 17 user, 32 page, 613 call-rate limits.
    retriable: new Set([4, 17, 32, 613]),
    // 551 user unavailable, 100 invalid parameter, 10 permission, 190 expired token.
    permanent: new Set([551, 100, 10, 190]),
  },
};

/**
 * Whether a retry of a failed provider call can help. A known provider code decides first
 * (Meta answers rate limits with HTTP 400); otherwise the HTTP status: no answer at all
 * (`null`: network error, timeout), 408, 429 and 5xx are retriable, every other status is not.
 */
export function classifyProviderError(channel: ExternalChannel, httpStatus: number | null, code: number | null): boolean {
  const rules = CODE_RULES[channel];
  if (code !== null && rules) {
    if (rules.retriable.has(code)) return true;
    if (rules.permanent.has(code)) return false;
  }
  if (httpStatus === null) return true;
  // 408 is the one 4xx that says nothing about the request itself, only that it came too slowly.
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return true;
  // Any other 4xx, and a 2xx whose body we could not use: the provider may have accepted the
  // message, so a retry risks sending it twice.
  return false;
}

/**
 * Reads a `Retry-After` header: delay-seconds or an HTTP date. Returns milliseconds to wait
 * (never negative), or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP-date form names the month; without this, Date.parse reads "-5" as a year.
  if (!/[a-z]{3}/i.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

export interface ProviderErrorInit {
  channel: ExternalChannel;
  message: string;
  /** `AppError.code`; @default `provider_<providerCode>`, else `provider_http_<httpStatus>`, else `provider_error` */
  code?: string;
  providerCode?: number | null;
  httpStatus?: number | null;
  retryAfterMs?: number | null;
  /** Meta's request id, for support tickets. */
  fbtraceId?: string | null;
  /** @default classifyProviderError(channel, httpStatus, providerCode) */
  retriable?: boolean;
  /** HTTP status should this error leave our API. @default 502 */
  status?: number;
  cause?: unknown;
}

/** A provider call that failed, translated at the boundary: it says whether a retry can help. */
export class ProviderError extends AppError {
  readonly channel: ExternalChannel;
  /** The provider's numeric error code (`131026`), when it gave one. */
  readonly providerCode: number | null;
  /** HTTP status of the provider's answer; null when there was no answer (network, timeout, local check). */
  readonly httpStatus: number | null;
  /** How long the provider asked us to wait, from `Retry-After`. */
  readonly retryAfterMs: number | null;
  readonly fbtraceId: string | null;

  constructor(init: ProviderErrorInit) {
    const providerCode = init.providerCode ?? null;
    const httpStatus = init.httpStatus ?? null;
    const code =
      init.code ??
      (providerCode !== null ? `provider_${providerCode}` : httpStatus !== null ? `provider_http_${httpStatus}` : 'provider_error');
    super(code, init.message, {
      retriable: init.retriable ?? classifyProviderError(init.channel, httpStatus, providerCode),
      status: init.status ?? 502,
      cause: init.cause,
    });
    this.name = 'ProviderError';
    this.channel = init.channel;
    this.providerCode = providerCode;
    this.httpStatus = httpStatus;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.fbtraceId = init.fbtraceId ?? null;
  }
}

/** A check we make before calling the provider (caption too long…): permanent, nothing was sent. */
export function rejectedLocally(channel: ExternalChannel, code: string, message: string): ProviderError {
  return new ProviderError({ channel, code, message, retriable: false, status: 422 });
}

const MAX_BODY_IN_MESSAGE = 200;

/**
 * Translates a provider's non-success answer. Reads Meta's Graph error body
 * `{"error":{"message","type","code","error_subcode","error_data":{"details"},"fbtrace_id"}}`;
 * any other body is quoted (shortened) in the message.
 */
export function providerErrorFromResponse(
  channel: ExternalChannel,
  httpStatus: number,
  headers: { get(name: string): string | null },
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), nowMs);
  const graph = readGraphError(bodyText);
  if (!graph) {
    const quoted = bodyText.length > MAX_BODY_IN_MESSAGE ? `${bodyText.slice(0, MAX_BODY_IN_MESSAGE)}…` : bodyText;
    return new ProviderError({
      channel,
      httpStatus,
      retryAfterMs,
      message: `${channel} answered HTTP ${httpStatus}${quoted ? `: ${quoted}` : ''}`,
    });
  }
  const parts = [graph.message ?? 'no message'];
  if (graph.details && graph.details !== graph.message) parts.push(graph.details);
  const extra = [`code ${graph.code ?? 'none'}`];
  if (graph.subcode !== null) extra.push(`subcode ${graph.subcode}`);
  if (graph.type) extra.push(graph.type);
  if (graph.fbtraceId) extra.push(`fbtrace_id ${graph.fbtraceId}`);
  return new ProviderError({
    channel,
    httpStatus,
    retryAfterMs,
    providerCode: graph.code,
    fbtraceId: graph.fbtraceId,
    message: `${channel} answered HTTP ${httpStatus}: ${parts.join(': ')} (${extra.join(', ')})`,
  });
}

interface GraphError {
  code: number | null;
  subcode: number | null;
  message: string | null;
  type: string | null;
  details: string | null;
  fbtraceId: string | null;
}

/** Meta's error object out of a response body, or null when the body is not one. */
export function readGraphError(bodyText: string): GraphError | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || !isRecord(parsed.error)) return null;
  const e = parsed.error;
  const data = isRecord(e.error_data) ? e.error_data : {};
  return {
    code: toInt(e.code),
    subcode: toInt(e.error_subcode),
    message: typeof e.message === 'string' ? e.message : null,
    type: typeof e.type === 'string' ? e.type : null,
    details: typeof data.details === 'string' ? data.details : null,
    fbtraceId: typeof e.fbtrace_id === 'string' ? e.fbtrace_id : null,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Translates a call that got no answer. A timeout becomes `provider_timeout`, a connection that
 * could not be made `provider_unreachable`, anything else `provider_network_error`; all retriable.
 */
export function providerErrorFromFetchFailure(channel: ExternalChannel, err: unknown, timeoutMs: number): ProviderError {
  if (err instanceof ProviderError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') {
    return new ProviderError({
      channel,
      code: 'provider_timeout',
      message: `${channel} did not answer within ${timeoutMs} ms`,
      retriable: true,
      status: 504,
      cause: err,
    });
  }
  const sysCode = errorCode(err);
  if (sysCode !== null && UNREACHABLE.has(sysCode)) {
    return new ProviderError({
      channel,
      code: 'provider_unreachable',
      message: `${channel} is unreachable (${sysCode})`,
      retriable: true,
      status: 503,
      cause: err,
    });
  }
  const detail = sysCode ?? (err instanceof Error ? err.message : String(err));
  return new ProviderError({
    channel,
    code: 'provider_network_error',
    message: `${channel} call failed without an answer (${detail})`,
    retriable: true,
    status: 503,
    cause: err,
  });
}

/**
 * What to store on a FAILED delivery. `code` is the provider's code as a string when it gave one
 * (`"131026"`), else our own code (`provider_timeout`, `caption_too_long`).
 */
export function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof ProviderError && err.providerCode !== null) {
    return { code: String(err.providerCode), message: err.message };
  }
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'connector_error', message: err.message };
  return { code: 'connector_error', message: String(err) };
}

// fetch (undici) wraps socket errors: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
// and a host with several addresses gives an AggregateError whose parts carry the code.
function errorCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; isRecord(e) && depth < 4; e = e.cause, depth++) {
    if (typeof e.code === 'string') return e.code;
    if (Array.isArray(e.errors)) {
      const first: unknown = e.errors[0];
      if (isRecord(first) && typeof first.code === 'string') return first.code;
    }
  }
  return null;
}

function toInt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

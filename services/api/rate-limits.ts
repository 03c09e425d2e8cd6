import type { Request } from 'express';
import type { Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { RateLimitStore } from '../core/ports/rate-limit-store.ts';

/** Each rate limit of the API, with the config field that holds its "per window" number. */
export const LIMITS = {
  loginPerIp: { field: 'rateLimitLoginPerIp', what: 'logins from this address' },
  loginPerUsername: { field: 'rateLimitLoginPerUsername', what: 'logins for this username' },
  registerPerIp: { field: 'rateLimitRegisterPerIp', what: 'registrations from this address' },
  registerPerUsername: { field: 'rateLimitRegisterPerUsername', what: 'registrations of this username' },
  sendsPerUser: { field: 'rateLimitSendsPerUser', what: 'messages from this user' },
  sendsPerConversation: { field: 'rateLimitSendsPerConversation', what: 'messages in this conversation' },
  identityLinksPerUser: { field: 'rateLimitIdentityLinksPerUser', what: 'identity links by this user' },
  webhooksPerUser: { field: 'rateLimitWebhooksPerUser', what: 'webhooks created by this user' },
  filesPerUser: { field: 'rateLimitFilesPerUser', what: 'file uploads started by this user' },
  // Guessing ADMIN_BOOTSTRAP_TOKEN is held to the pace of guessing passwords from one address.
  adminBootstrapPerIp: { field: 'rateLimitLoginPerIp', what: 'admin bootstrap attempts from this address' },
} as const satisfies Record<string, { field: keyof Config; what: string }>;

export type LimitName = keyof typeof LIMITS;

/** A refusal: 429 with `Retry-After` in whole seconds (at least 1). */
export function tooManyRequests(what: string, limit: number, windowMs: number, retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('rate_limited', `too many ${what}: at most ${limit} per ${windowMs / 1000} s; retry in ${seconds} s`, {
    status: 429,
    retriable: true,
    headers: { 'Retry-After': String(seconds) },
  });
}

/**
 * The API's rate limits over the store's counters (`RateLimitStore`), so replicas count together.
 * `check` consumes one unit of each named limit and throws a 429 AppError for the first one over.
 */
export class RateLimits {
  constructor(
    private readonly deps: { config: Config; rateLimits: RateLimitStore; clock: Clock; onLimited?: (name: LimitName) => void },
  ) {}

  /**
   * Counts one call against each `[limit, subject]` pair, in order and in one round trip to the
   * store; throws `rate_limited` (429) for the first one over (the pairs after it are not counted).
   */
  async check(...pairs: [LimitName, string][]): Promise<void> {
    const { config, rateLimits, clock } = this.deps;
    if (!config.rateLimitEnabled || pairs.length === 0) return;
    const now = clock.now();
    const windowMs = config.rateLimitWindowMs;
    const limits = pairs.map(([name]) => config[LIMITS[name].field]);
    const decisions = await rateLimits.consumeEach(
      pairs.map(([name, subject], i) => ({ key: `${name}:${subject}`, cost: 1, windowMs, limit: limits[i]! })),
      now,
    );
    const refused = decisions.findIndex((d) => !d.allowed);
    if (refused < 0) return;
    const name = pairs[refused]![0];
    this.deps.onLimited?.(name);
    throw tooManyRequests(LIMITS[name].what, limits[refused]!, windowMs, decisions[refused]!.retryAfterMs);
  }
}

/**
 * The client address of a request for the per-address limits: the socket's peer, or with
 * `TRUST_PROXY` the address the proxy reports (Express's `req.ip` under `trust proxy`).
 */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

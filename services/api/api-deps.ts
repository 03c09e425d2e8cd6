import type { Registry } from 'prom-client';
import type { RequestHandler } from 'express';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Stores } from '../core/ports/stores.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { DeadLetterStore } from '../core/ports/dead-letter-store.ts';
import type { WebhookStore } from '../core/ports/webhook-store.ts';
import type { RateLimitStore } from '../core/ports/rate-limit-store.ts';
import type { Auth } from './auth.ts';
import type { ApiMetrics } from './metrics.ts';
import type { RateLimits } from './rate-limits.ts';

/** Everything the API needs from outside; `main.ts` builds it, tests pass their own. */
export interface ApiDeps {
  config: Config;
  users: UserStore;
  conversations: ConversationStore;
  messages: MessageStore;
  deliveries: DeliveryStore;
  deadLetters: DeadLetterStore;
  webhooks: WebhookStore;
  /** The counters of the rate limits, shared by every API replica on the same store. */
  rateLimits: RateLimitStore;
  /** The backing store of the ports, for readiness. */
  store: Pick<Stores, 'healthy'>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** The registry the API's metrics are declared on and `/metrics` serves. */
  registry: Registry;
}

/** What each group of routes is built from. */
export interface RouteContext extends ApiDeps {
  auth: Auth;
  metrics: ApiMetrics;
  /** The API's rate limits (`RATE_LIMIT_*`), counted in the store. */
  limits: RateLimits;
  /** Requires a valid bearer token; see `requireAuth`. */
  authenticated: RequestHandler;
}

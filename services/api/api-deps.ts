import type { Registry } from 'prom-client';
import type { RequestHandler } from 'express';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { Stores } from '../core/ports/stores.ts';
import type { Auth } from './auth.ts';
import type { ApiMetrics } from './metrics.ts';
import type { RateLimits } from './rate-limits.ts';

/**
 * Everything the API needs from outside; `compose.ts` builds it, tests pass their own. The API
 * serves every aggregate, so it holds every store port; each route group and use case takes only
 * the ones it touches.
 */
export interface ApiDeps extends Omit<Stores, 'healthy' | 'close'> {
  config: Config;
  /** The backing store of the ports, for readiness. */
  store: Pick<Stores, 'healthy'>;
  bus: Bus;
  /** The object store of file bytes. */
  objects: ObjectStore;
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

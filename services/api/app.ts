import express from 'express';
import helmet from 'helmet';
import type { ApiDeps, RouteContext } from './api-deps.ts';
import { Auth, requireAuth } from './auth.ts';
import { authRoutes } from './auth-routes.ts';
import { conversationRoutes } from './conversation-routes.ts';
import { docsRoutes } from './docs-routes.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { healthRoutes } from './health-routes.ts';
import { identityRoutes } from './identity-routes.ts';
import { userRoutes } from './user-routes.ts';
import { MAX_JSON_DEPTH_SETTING } from './json-body.ts';
import { messageRoutes } from './message-routes.ts';
import { createApiMetrics } from './metrics.ts';
import { requestMetrics } from './request-metrics.ts';
import { traceId } from './trace-id.ts';
import { webhookRoutes } from './webhook-routes.ts';
import { RateLimits } from './rate-limits.ts';
import { deadLetterRoutes } from './dead-letter-routes.ts';
import { bootstrapRoutes } from './bootstrap-routes.ts';
import { webClientRoutes } from './web-client/web-client-routes.ts';

export type { ApiDeps };

/**
 * The public REST API (see docs/api.md). Everything it needs comes in `deps`; it keeps no state of
 * its own beyond what it builds here, so tests can start as many as they like.
 */
export function createApp(deps: ApiDeps): express.Express {
  const metrics = createApiMetrics(deps.registry);
  const auth = new Auth(deps);
  const limits = new RateLimits({ ...deps, onLimited: (name) => metrics.rateLimited.inc({ limit: name }) });
  const ctx: RouteContext = { ...deps, auth, metrics, limits, authenticated: requireAuth(auth) };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Only behind a proxy that sets X-Forwarded-For may req.ip (the per-address rate limits) come from it.
  if (deps.config.trustProxy) app.set('trust proxy', 1);
  app.set(MAX_JSON_DEPTH_SETTING, deps.config.maxJsonDepth);
  app.use(traceId());
  app.use(requestMetrics(metrics));
  // Security headers (nosniff, frame-ancestors, HSTS, a default-src 'self' CSP); /docs sets its own CSP.
  app.use(helmet());

  app.use(healthRoutes(ctx));
  app.use(docsRoutes());
  app.use(webClientRoutes(deps.config));
  app.use(authRoutes(ctx));
  app.use(userRoutes(ctx));
  app.use(identityRoutes(ctx));
  app.use(conversationRoutes(ctx));
  app.use(messageRoutes(ctx));
  app.use(webhookRoutes(ctx));
  app.use(deadLetterRoutes(ctx));
  app.use(bootstrapRoutes(ctx));

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}

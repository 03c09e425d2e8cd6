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
import { sendFastPath } from './send-fast-path.ts';
import { createApiMetrics } from './metrics.ts';
import { requestMetrics } from './request-metrics.ts';
import { traceId } from './trace-id.ts';
import { webhookRoutes } from './webhook-routes.ts';
import { fileRoutes } from './file-routes.ts';
import { fileSettings, type FileDeps } from './file-deps.ts';
import { startFileJob } from './file-job.ts';
import { createFileMetrics } from './file-metrics.ts';
import { FileVerifier } from './file-verification.ts';
import { RateLimits } from './rate-limits.ts';
import { deadLetterRoutes } from './dead-letter-routes.ts';
import { bootstrapRoutes } from './bootstrap-routes.ts';
import { webClientRoutes } from './web-client/web-client-routes.ts';

export type { ApiDeps };

/** The API's app and its file job, which the caller starts (and stops) when it serves. */
export interface Api {
  app: express.Express;
  /**
   * The fast path of `POST /v1/messages` (send-fast-path.ts), the app's first middleware: a server
   * runs it before the app, so the sends it takes never enter Express (it calls `next` for the rest).
   */
  fastPath: ReturnType<typeof sendFastPath>;
  /**
   * Starts the periodic file job (expires abandoned upload sessions, resumes verifications left
   * by a restart); `tick()` runs a pass now, `stop()` ends it and waits for verifications under way.
   */
  startFileJob(): { tick(): Promise<{ expired: number; resumed: number }>; stop(): Promise<void> };
}

/**
 * The public REST API (see docs/api.md). Everything it needs comes in `deps`; it keeps no state of
 * its own beyond what it builds here, so tests can start as many as they like.
 */
export function createApp(deps: ApiDeps): express.Express {
  return createApi(deps).app;
}

/** What every group of routes is built from: the deps, the API's metrics, auth and rate limits. */
export function createRouteContext(deps: ApiDeps): RouteContext {
  const metrics = createApiMetrics(deps.registry);
  const auth = new Auth(deps);
  const limits = new RateLimits({ ...deps, onLimited: (name) => metrics.rateLimited.inc({ limit: name }) });
  return { ...deps, auth, metrics, limits, authenticated: requireAuth(auth) };
}

/** The API (see `createApp`) with its file job. */
export function createApi(deps: ApiDeps): Api {
  const ctx = createRouteContext(deps);
  const fileDeps: FileDeps = { ...deps, metrics: createFileMetrics(deps.registry), settings: fileSettings(deps.config) };
  const verifier = new FileVerifier(fileDeps);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Only behind a proxy that sets X-Forwarded-For may req.ip (the per-address rate limits) come from it.
  if (deps.config.trustProxy) app.set('trust proxy', 1);
  app.set(MAX_JSON_DEPTH_SETTING, deps.config.maxJsonDepth);
  // Before everything else: the sends it takes skip the chain below (their twin route is in messageRoutes).
  const fastPath = sendFastPath(ctx);
  app.use(fastPath);
  app.use(traceId());
  app.use(requestMetrics(ctx.metrics));
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
  app.use(fileRoutes(ctx, fileDeps, verifier));
  app.use(deadLetterRoutes(ctx));
  app.use(bootstrapRoutes(ctx));

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return {
    app,
    fastPath,
    startFileJob: () => {
      const job = startFileJob(fileDeps, verifier);
      return {
        tick: job.tick,
        stop: async () => {
          await job.stop();
          await verifier.drain();
        },
      };
    },
  };
}

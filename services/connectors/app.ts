import type { RequestListener } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { opsRoutes } from '../core/ops-routes.ts';
import type { Stores } from '../core/ports/stores.ts';
import { webhookRoutes, type WebhookDeps } from './webhook-routes.ts';
import { webhookFastPath } from './webhook-fast-path.ts';

/** The connectors' HTTP face: provider webhooks, health and metrics. */
export function createConnectorsApp(deps: WebhookDeps & { store: Pick<Stores, 'healthy'>; registry: Registry }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // First: the status webhooks, most of what this process serves, skip the rest of Express.
  app.use(webhookFastPath(deps));
  app.use(
    opsRoutes(deps.registry, async () => ({ store: await deps.store.healthy(), bus: await deps.bus.healthy() })),
  );
  app.use(webhookRoutes(deps));
  return app;
}

/**
 * What the connectors process serves: the status webhooks' fast path in front of the whole Express
 * app (its router and request setup included), the rest through the app.
 */
export function connectorsListener(deps: Parameters<typeof createConnectorsApp>[0]): RequestListener {
  const app = createConnectorsApp(deps);
  const fast = webhookFastPath(deps);
  return (req, res) => fast(req, res, () => app(req, res));
}

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

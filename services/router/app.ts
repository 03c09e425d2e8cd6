import express from 'express';
import type { Registry } from 'prom-client';
import type { Bus } from '../core/ports/bus.ts';
import type { Stores } from '../core/ports/stores.ts';
import { opsRoutes } from '../core/ops-routes.ts';

/** The router's HTTP face: health and metrics only. */
export function createRouterApp(deps: { store: Pick<Stores, 'healthy'>; bus: Bus; registry: Registry }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(opsRoutes(deps.registry, async () => ({ store: await deps.store.healthy(), bus: await deps.bus.healthy() })));
  return app;
}

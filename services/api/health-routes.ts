import { Router } from 'express';
import { unavailable } from '../core/errors.ts';
import type { RouteContext } from './api-deps.ts';

/** Liveness, readiness and the Prometheus scrape endpoint. */
export function healthRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const check = (p: () => Promise<boolean>) => p().catch(() => false);
    const [store, bus] = await Promise.all([check(() => ctx.store.healthy()), check(() => ctx.bus.healthy())]);
    // The store is where a message becomes durable; without the bus the API still accepts (the
    // relay publishes later), so a bus outage degrades the API but does not take it out of service.
    if (!store) throw unavailable('not ready: the store is unreachable');
    res.json({ status: bus ? 'ok' : 'degraded', checks: { store, bus } });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(ctx.registry.contentType).send(await ctx.registry.metrics());
  });

  return router;
}

import express from 'express';
import type { Registry } from 'prom-client';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/**
 * `/healthz` (the process answers), `/readyz` (its dependencies answer: 503 otherwise) and
 * `/metrics` (Prometheus text) for any service.
 */
export function opsRoutes(registry: Registry, ready: () => Promise<Record<string, boolean>>): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await ready().catch(() => ({ checks: false }));
    const failing = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    res
      .status(503)
      .type(PROBLEM_CONTENT_TYPE)
      .set('Retry-After', '1')
      .json({
        type: 'https://chat4all.dev/problems/not-ready',
        title: 'Service Unavailable',
        status: 503,
        detail: `not ready: ${failing.join(', ')} unreachable`,
        checks,
      });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

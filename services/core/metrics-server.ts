import type { RequestListener } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { closeServer, listen } from './listen.ts';
import type { HttpLimits } from './http-limits.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/** A service's listeners: its app and, with a metrics port, the metrics server. */
export interface ServiceListeners {
  http: Awaited<ReturnType<typeof listen>>;
  /** Null when `/metrics` is served on the app's own port. */
  metrics: Awaited<ReturnType<typeof listen>> | null;
  /** Closes both. */
  close(): Promise<void>;
}

/** The app of a metrics port: `/metrics` and `/healthz`, nothing else. */
export function metricsOnlyApp(registry: Registry): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}

/** What the service's own port answers for `/metrics` when a metrics port serves them. */
export function metricsElsewhere(_req: express.Request, res: express.Response): void {
  res.status(404).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'metrics are served on the metrics port only' }));
}

/**
 * Listens for one service: its app on `host:port` and, when `metricsPort` is set (METRICS_PORT),
 * a second server on that port that serves only `/metrics` and `/healthz`. The app's own port then
 * answers 404 for `/metrics`, so a public Service in front of it never exposes the metrics (which
 * name internal topics, groups and rates). Without `metricsPort` (the local platform) both stay on
 * one port, as before. `app` is an Express app or any request listener (one that answers some
 * requests before handing the rest to its Express app).
 */
export async function listenService(app: RequestListener, options: { host: string; port: number; metricsPort?: number; registry: Registry; limits?: HttpLimits }): Promise<ServiceListeners> {
  if (options.metricsPort === undefined) {
    const http = await listen(app, options.host, options.port, options.limits);
    return { http, metrics: null, close: () => closeServer(http.server) };
  }
  const front = express();
  front.disable('x-powered-by');
  front.all('/metrics', metricsElsewhere);
  front.use(app);
  const http = await listen(front, options.host, options.port, options.limits);
  const metrics = await listen(metricsOnlyApp(options.registry), options.host, options.metricsPort);
  return {
    http,
    metrics,
    async close() {
      await Promise.all([closeServer(http.server), closeServer(metrics.server)]);
    },
  };
}

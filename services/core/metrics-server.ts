import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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

/** Where and how {@link listenService} listens. */
export interface ListenOptions {
  host: string;
  port: number;
  /** A second port for `/metrics` and `/healthz` only (METRICS_PORT). */
  metricsPort?: number;
  registry: Registry;
  limits?: HttpLimits;
  /**
   * A handler every request meets before the app (and before the metrics port's 404 for
   * `/metrics`): it answers the requests it takes, without Express, and calls `next` for the rest.
   */
  first?: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
}

/**
 * Listens for one service: its app on `host:port` and, when `metricsPort` is set (METRICS_PORT),
 * a second server on that port that serves only `/metrics` and `/healthz`. The app's own port then
 * answers 404 for `/metrics`, so a public Service in front of it never exposes the metrics (which
 * name internal topics, groups and rates). Without `metricsPort` (the local platform) both stay on
 * one port, as before. `app` is an Express app or any request listener (one that answers some
 * requests before handing the rest to its Express app).
 */
export async function listenService(app: RequestListener, options: ListenOptions): Promise<ServiceListeners> {
  const { first } = options;
  // The hot path answers what it takes without entering Express at all; the rest goes on to the app.
  const serve = (handler: RequestListener): RequestListener => (first ? (req, res) => first(req, res, () => void handler(req, res)) : handler);
  if (options.metricsPort === undefined) {
    const http = await listen(serve(app), options.host, options.port, options.limits);
    return { http, metrics: null, close: () => closeServer(http.server) };
  }
  const front = express();
  front.disable('x-powered-by');
  front.all('/metrics', metricsElsewhere);
  front.use(app);
  const http = await listen(serve(front), options.host, options.port, options.limits);
  const metrics = await listen(metricsOnlyApp(options.registry), options.host, options.metricsPort);
  return {
    http,
    metrics,
    async close() {
      await Promise.all([closeServer(http.server), closeServer(metrics.server)]);
    },
  };
}

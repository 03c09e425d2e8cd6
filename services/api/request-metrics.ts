import type { NextFunction, Request, Response } from 'express';
import type { ApiMetrics } from './metrics.ts';

/**
 * Counts and times every request once its answer is finished. The `route` label is the Express
 * pattern (`/v1/messages/:id`), never the raw path, so ids do not explode the label set.
 */
export function requestMetrics(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const labels = { method: req.method, route: typeof route === 'string' ? route : 'unmatched', status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  };
}

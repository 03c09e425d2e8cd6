import express from 'express';
import { LIVE_VIEW_HTML } from './live-view-page.ts';
import type { LiveSampler } from './live-view-sampler.ts';

/**
 * The live view of the local platform: `GET /` serves the page, `GET /live.json` what the
 * sampler gathered (rates, latency percentiles, consumer lag, breakers, processes), which the
 * page polls every second.
 */
export function liveViewRoutes(sampler: LiveSampler): express.Router {
  const r = express.Router();
  r.get('/', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-store').send(LIVE_VIEW_HTML);
  });
  r.get('/live.json', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(sampler.snapshot());
  });
  return r;
}

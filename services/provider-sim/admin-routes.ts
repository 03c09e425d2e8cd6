import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { configPatchSchema, faultsPatchSchema, inboundSchema, receivedQuerySchema } from './admin-schemas.ts';
import { CHANNELS } from './channel.ts';
import { noFaultState } from './fault-state.ts';
import { sendProblem, sendValidationProblem } from './problem.ts';
import { applyConfigPatch, viewConfig } from './sim-config.ts';
import type { SimContext } from './sim-context.ts';
import { emitInbound } from './inbound-events.ts';

/** The admin API under `/_sim/` (documented in docs/provider-sim.md). */
export function createAdminRouter(ctx: SimContext): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  router.get('/faults', (_req, res) => {
    res.json(ctx.state.faults);
  });

  router.post('/faults', (req, res) => {
    const parsed = faultsPatchSchema.safeParse(req.body);
    if (!parsed.success) return sendValidationProblem(res, parsed.error);
    const { channel, ...patch } = parsed.data;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    for (const c of channel === 'all' ? CHANNELS : [channel]) Object.assign(ctx.state.faults[c], defined);
    ctx.logger.info({ channel, faults: defined }, 'faults changed');
    res.json(ctx.state.faults);
  });

  router.delete('/faults', (_req, res) => {
    ctx.state.faults = noFaultState();
    ctx.logger.info('faults cleared');
    res.json(ctx.state.faults);
  });

  router.get('/config', (_req, res) => {
    res.json(viewConfig(ctx.state.config));
  });

  router.post('/config', (req, res) => {
    const parsed = configPatchSchema.safeParse(req.body);
    if (!parsed.success) return sendValidationProblem(res, parsed.error);
    applyConfigPatch(ctx.state.config, parsed.data);
    ctx.logger.info({ config: parsed.data }, 'config changed');
    res.json(viewConfig(ctx.state.config));
  });

  router.get('/received', (req, res) => {
    const parsed = receivedQuerySchema.safeParse(req.query);
    if (!parsed.success) return sendValidationProblem(res, parsed.error);
    res.json(ctx.state.received.list(parsed.data));
  });

  router.get('/stats', (_req, res) => {
    res.json(ctx.state.stats.snapshot());
  });

  router.post('/inbound', (req, res) => {
    const parsed = inboundSchema.safeParse(req.body);
    if (!parsed.success) return sendValidationProblem(res, parsed.error);
    const { channel } = parsed.data;
    if (ctx.state.config.webhookUrls[channel] === undefined) {
      return sendProblem(
        res,
        409,
        'No webhook URL',
        `no webhook URL is configured for ${channel}: set webhook_urls.${channel} with POST /_sim/config`,
      );
    }
    res.status(202).json(emitInbound(ctx, parsed.data, `${req.protocol}://${req.get('host')}`));
  });

  router.post('/reset', (_req, res) => {
    ctx.reset();
    ctx.logger.info('simulator reset');
    res.json({ status: 'reset' });
  });

  router.use((_req, res) => sendProblem(res, 404, 'Not found', `no admin endpoint ${_req.method} ${_req.originalUrl}`));

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(res, status, status === 413 ? 'Body too large' : 'Malformed request body', (err as Error).message);
    }
    ctx.logger.error({ err }, 'admin request failed');
    sendProblem(res, 500, 'Internal error', 'the simulator failed to handle this request');
  });
  return router;
}

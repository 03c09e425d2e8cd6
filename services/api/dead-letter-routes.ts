import { Router } from 'express';
import { z } from 'zod';
import { notFound } from '../core/errors.ts';
import { isoAt } from '../core/ports/clock.ts';
import { replayDeadLetter, type DeadLetter } from '../core/dead-letters.ts';
import type { RouteContext } from './api-deps.ts';
import { requireAdmin } from './auth.ts';
import { jsonBody } from './json-body.ts';
import { apiSchemas, text } from './schemas.ts';
import { parse } from './validate.ts';

export const deadLetterView = z
  .object({
    id: z.string(),
    reason: z.string(),
    topic: z.string(),
    partition: z.number(),
    offset: z.string(),
    key: z.string(),
    value: z.string().describe('The record as it was, as text.'),
    headers: z.record(z.string(), z.string()),
    first_seen: z.string(),
    status: z.enum(['open', 'replayed', 'purged']),
    updated_at: z.string(),
  })
  .register(apiSchemas, { id: 'DeadLetter' });
export const deadLetterList = z.object({ dead_letters: z.array(deadLetterView) }).register(apiSchemas, { id: 'DeadLetterList' });
export const deadLetterQuery = z
  .object({ status: z.enum(['open', 'replayed', 'purged']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) })
  .register(apiSchemas, { id: 'DeadLetterQuery' });
export const replayRequest = z
  .object({ value: text().min(1).max(60000).optional().describe('A fixed record to publish instead of the original value.') })
  .register(apiSchemas, { id: 'ReplayRequest' });
export const replayAllResult = z.object({ replayed: z.number() }).register(apiSchemas, { id: 'ReplayAllResult' });
export const purgeResult = z.object({ purged: z.number() }).register(apiSchemas, { id: 'PurgeResult' });

/**
 * Dead letters for operators (admin role only): list, show, replay one (optionally fixed) or
 * all open ones onto their original topic, and purge the open ones.
 */
export function deadLetterRoutes(ctx: RouteContext): Router {
  const router = Router();
  const admin = (res: Parameters<typeof requireAdmin>[1]) => requireAdmin(ctx.users, res, 'dead letters');
  const load = async (id: string): Promise<DeadLetter> => {
    const letter = await ctx.deadLetters.getDeadLetter(id);
    if (!letter) throw notFound('dead letter');
    return letter;
  };

  router.get('/v1/admin/dead-letters', ctx.authenticated, async (req, res) => {
    await admin(res);
    const q = parse(deadLetterQuery, req.query);
    res.json({ dead_letters: await ctx.deadLetters.listDeadLetters(q.status, q.limit) });
  });
  router.get('/v1/admin/dead-letters/:id', ctx.authenticated, async (req, res) => {
    await admin(res);
    res.json(await load(req.params.id as string));
  });
  router.post('/v1/admin/dead-letters/replay', ctx.authenticated, async (_req, res) => {
    await admin(res);
    const open = await ctx.deadLetters.listDeadLetters('open', 1000);
    for (const letter of open.reverse()) await replayDeadLetter(ctx, letter);
    res.json({ replayed: open.length });
  });
  router.post('/v1/admin/dead-letters/:id/replay', ctx.authenticated, jsonBody(), async (req, res) => {
    await admin(res);
    const body = parse(replayRequest, req.body ?? {});
    res.json(await replayDeadLetter(ctx, await load(req.params.id as string), body.value));
  });
  router.delete('/v1/admin/dead-letters', ctx.authenticated, async (_req, res) => {
    await admin(res);
    const open = await ctx.deadLetters.listDeadLetters('open', 100000);
    const at = isoAt(ctx.clock.now());
    for (const letter of open) await ctx.deadLetters.setDeadLetterStatus(letter.id, 'purged', at);
    res.json({ purged: open.length });
  });
  return router;
}

import { Router } from 'express';
import { EXTERNAL_CHANNELS, type ExternalChannel } from '../core/domain/types.ts';
import { CapReached } from '../core/cap-reached.ts';
import { AppError, notFound } from '../core/errors.ts';
import { isoAt } from '../core/ports/clock.ts';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { requireUser } from './conversations.ts';
import { jsonBody } from './json-body.ts';
import { identityRequest } from './schemas.ts';
import { parse } from './validate.ts';
import { identityJson } from './views.ts';

/** The caller's external identities (WhatsApp numbers, Instagram accounts). */
export function identityRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.post('/v1/users/me/identities', ctx.authenticated, jsonBody(), async (req, res) => {
    const me = requireUser(principalOf(res));
    const input = parse(identityRequest, req.body);
    await ctx.limits.check(['identityLinksPerUser', me]);
    const max = ctx.config.maxIdentitiesPerChannel;
    const identity = await ctx.users.linkIdentity({ user_id: me, ...input, linked_at: isoAt(ctx.clock.now()) }, { max }).catch((err: unknown) => {
      if (err instanceof CapReached) {
        throw new AppError('too_many_identities', `you already have ${max} ${input.channel} identities, the most allowed (MAX_IDENTITIES_PER_CHANNEL): unlink one first`, {
          status: 409,
          errors: [{ field: 'address', message: `at most ${max} ${input.channel} identities per user` }],
        });
      }
      throw err;
    });
    res.status(201).json(identityJson(identity));
  });

  router.get('/v1/users/me/identities', ctx.authenticated, async (_req, res) => {
    const me = requireUser(principalOf(res));
    res.json({ identities: (await ctx.users.listIdentities([me])).map(identityJson) });
  });

  router.delete('/v1/users/me/identities/:channel/:address', ctx.authenticated, async (req, res) => {
    const me = requireUser(principalOf(res));
    const channel = req.params.channel as string;
    if (!(EXTERNAL_CHANNELS as readonly string[]).includes(channel)) throw notFound('identity');
    const removed = await ctx.users.unlinkIdentity(me, channel as ExternalChannel, req.params.address as string);
    if (!removed) throw notFound('identity');
    res.status(204).end();
  });

  return router;
}

import { Router } from 'express';
import { EXTERNAL_CHANNELS, type ExternalChannel } from '../core/domain/types.ts';
import { notFound } from '../core/errors.ts';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { requireUser } from './conversations.ts';
import { jsonBody } from './json-body.ts';
import { identityRequest, verifyIdentityRequest } from './schemas.ts';
import { parse } from './validate.ts';
import { linkIdentity, listIdentities, verifyIdentity } from './identity-verification.ts';

/** The caller's external identities (WhatsApp numbers, Instagram accounts). */
export function identityRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.post('/v1/users/me/identities', ctx.authenticated, jsonBody(), async (req, res) => {
    const input = parse(identityRequest, req.body);
    await ctx.limits.check(['identityLinksPerUser', principalOf(res).sub]);
    res.status(201).json(await linkIdentity(ctx, principalOf(res), input));
  });

  router.get('/v1/users/me/identities', ctx.authenticated, async (_req, res) => {
    res.json({ identities: await listIdentities(ctx, principalOf(res)) });
  });

  router.post('/v1/users/me/identities/:channel/:address/verify', ctx.authenticated, jsonBody(), async (req, res) => {
    requireUser(principalOf(res));
    const channel = req.params.channel as string;
    const { code } = parse(verifyIdentityRequest, req.body);
    // An unknown channel has no identities: 404, as for DELETE.
    if (!(EXTERNAL_CHANNELS as readonly string[]).includes(channel)) throw notFound('identity');
    res.json(await verifyIdentity(ctx, principalOf(res), channel as ExternalChannel, req.params.address as string, code));
  });

  router.delete('/v1/users/me/identities/:channel/:address', ctx.authenticated, async (req, res) => {
    const me = requireUser(principalOf(res));
    const channel = req.params.channel as string;
    if (!(EXTERNAL_CHANNELS as readonly string[]).includes(channel)) throw notFound('identity');
    const address = req.params.address as string;
    // An active link, or one still waiting for its code.
    const removed = (await ctx.users.unlinkIdentity(me, channel as ExternalChannel, address)) || (await ctx.users.deleteIdentityChallenge(me, channel as ExternalChannel, address));
    if (!removed) throw notFound('identity');
    res.status(204).end();
  });

  return router;
}

import { Router } from 'express';
import type { RouteContext } from './api-deps.ts';
import { jsonBody } from './json-body.ts';
import { registerRequest, tokenRequest } from './schemas.ts';
import { parse } from './validate.ts';
import { clientAddress, type LimitName } from './rate-limits.ts';

/** `POST /auth/register` and `POST /auth/token`: the only routes without a bearer token. */
export function authRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.post('/auth/register', jsonBody(), async (req, res) => {
    const input = parse(registerRequest, req.body);
    // Before the password hash: the limits are what keeps floods off the hashing slots.
    await ctx.limits.check(['registerPerIp', clientAddress(req)], ['registerPerUsername', input.username]);
    const user = await ctx.auth.register(input);
    res.status(201).json({ user_id: user.user_id, username: user.username, role: user.role, created_at: user.created_at });
  });

  router.post('/auth/token', jsonBody(), async (req, res) => {
    const credentials = parse(tokenRequest, req.body);
    const address: [LimitName, string] = ['loginPerIp', clientAddress(req)];
    if ('username' in credentials) await ctx.limits.check(address, ['loginPerUsername', credentials.username]);
    else await ctx.limits.check(address);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await ctx.auth.issueToken(credentials));
  });

  return router;
}

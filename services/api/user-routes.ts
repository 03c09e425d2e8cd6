import { Router } from 'express';
import { notFound } from '../core/errors.ts';
import type { RouteContext } from './api-deps.ts';
import { findUserQuery } from './schemas.ts';
import { parse } from './validate.ts';

/**
 * Finding people to talk to: one user by exact username. There is deliberately no listing of all
 * users, and the answer carries only the id and the name (no e-mail, role or identities).
 */
export function userRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.get('/v1/users', ctx.authenticated, async (req, res) => {
    const { username } = parse(findUserQuery, req.query, 'query');
    const user = await ctx.users.findUserByName(username);
    if (!user) throw notFound('user');
    res.json({ user_id: user.user_id, username: user.username });
  });

  return router;
}

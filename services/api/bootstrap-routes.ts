import { timingSafeEqual, createHash } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { forbidden, notFound } from '../core/errors.ts';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { jsonBody } from './json-body.ts';
import { clientAddress } from './rate-limits.ts';
import { apiSchemas } from './schemas.ts';
import { parse } from './validate.ts';

export const bootstrapRequest = z
  .object({ token: z.string().min(1).max(1024).describe('The value of ADMIN_BOOTSTRAP_TOKEN.') })
  .register(apiSchemas, { id: 'AdminBootstrapRequest' });
export const bootstrapResult = z
  .object({ user_id: z.string(), role: z.literal('admin') })
  .register(apiSchemas, { id: 'AdminBootstrapResult' });

/** Compares two secrets in time independent of where they differ (and of their lengths, by hashing first). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * `POST /v1/admin/bootstrap`: the first admin of an install. An authenticated user who presents
 * `ADMIN_BOOTSTRAP_TOKEN` becomes an admin in the store. 404 when no token is configured, 403 on
 * a wrong one; every valid attempt counts against its own per-address limit (sized like logins:
 * `RATE_LIMIT_LOGIN_PER_IP`), so the token cannot be guessed faster than passwords.
 */
export function bootstrapRoutes(ctx: RouteContext): Router {
  const router = Router();
  router.post('/v1/admin/bootstrap', ctx.authenticated, jsonBody(), async (req, res) => {
    const expected = ctx.config.adminBootstrapToken;
    if (!expected) throw notFound('admin bootstrap (ADMIN_BOOTSTRAP_TOKEN is not set)');
    const principal = principalOf(res);
    const body = parse(bootstrapRequest, req.body ?? {});
    if (principal.role === 'service') throw forbidden('service clients cannot become admins');
    await ctx.limits.check(['adminBootstrapPerIp', clientAddress(req)]);
    if (!sameSecret(body.token, expected)) {
      ctx.metrics.adminBootstrap.inc({ outcome: 'refused' });
      ctx.logger.warn({ user_id: principal.sub, ip: clientAddress(req) }, 'admin bootstrap refused: wrong token');
      throw forbidden('wrong admin bootstrap token');
    }
    if (!(await ctx.users.setRole(principal.sub, 'admin'))) throw notFound('user');
    ctx.metrics.adminBootstrap.inc({ outcome: 'granted' });
    ctx.logger.warn({ user_id: principal.sub, ip: clientAddress(req) }, 'admin role granted by ADMIN_BOOTSTRAP_TOKEN: remove or rotate the secret');
    res.json({ user_id: principal.sub, role: 'admin' });
  });
  return router;
}

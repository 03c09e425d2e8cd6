import { timingSafeEqual } from 'node:crypto';
import type express from 'express';
import { PROBLEM_CONTENT_TYPE } from '../core/problem.ts';

function problem(res: express.Response, status: number, title: string, detail: string) {
  res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

/**
 * Refuses what a web page could send to the supervisor's server on loopback: a request whose
 * `Host` is not loopback (DNS rebinding: a hostile name that resolves to 127.0.0.1), whose
 * `Origin` is another site, or that the browser marks `Sec-Fetch-Site: cross-site`/`same-site`.
 * The live view's own page (same origin) and the CLI (no browser headers) pass.
 */
export function sameOriginOnly(): express.RequestHandler {
  return (req, res, next) => {
    const host = req.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i.test(host)) {
      return problem(res, 403, 'Forbidden', `host ${host || '(none)'} is not this machine's loopback: open the page as http://127.0.0.1:<port>/`);
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return problem(res, 403, 'Forbidden', `cross-site request refused (Sec-Fetch-Site: ${String(site)})`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      return problem(res, 403, 'Forbidden', `cross-site request refused (Origin: ${origin})`);
    }
    next();
  };
}

/** Requires `Authorization: Bearer <token>`, the token the supervisor wrote to its state file. */
export function requireToken(token: string): express.RequestHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, res, next) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="chat4all-platform"');
      return problem(res, 401, 'Unauthorized', "the control API needs the token in .data/platform.json: use 'chat4all platform …', which reads it");
    }
    next();
  };
}

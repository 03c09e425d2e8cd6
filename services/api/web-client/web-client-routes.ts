import { readFileSync } from 'node:fs';
import { Router } from 'express';

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');

/**
 * The page's Content-Security-Policy: its own script and style only (no inline code, no eval), data
 * from the API's own origin and the gateway's WebSocket, no frames, no plugins, no form posts.
 */
export function webClientCsp(gatewayUrl: string): string {
  const gateway = new URL(gatewayUrl);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${gateway.protocol}//${gateway.host}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The web client at `/app` (docs/web-client.md): one HTML page, its script and style read once at
 * start, and `/app/config.json` naming the gateway it connects to (`GATEWAY_PUBLIC_URL`).
 */
export function webClientRoutes(config: { gatewayPublicUrl: string }): Router {
  const router = Router();
  const files = {
    html: asset('index.html'),
    js: asset('app.js'),
    css: asset('app.css'),
    config: JSON.stringify({ gateway_url: config.gatewayPublicUrl }),
  };
  const csp = webClientCsp(config.gatewayPublicUrl);

  router.use('/app', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    next();
  });
  router.get('/app', (_req, res) => {
    // The page's assets are absolute (/app/…), so /app and /app/ are the same page.
    res.type('html').send(files.html);
  });
  router.get('/app/app.js', (_req, res) => {
    res.type('text/javascript').send(files.js);
  });
  router.get('/app/app.css', (_req, res) => {
    res.type('text/css').send(files.css);
  });
  router.get('/app/config.json', (_req, res) => {
    res.type('application/json').send(files.config);
  });
  return router;
}

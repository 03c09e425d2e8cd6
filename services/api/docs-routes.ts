import { Router } from 'express';
import { renderDocsPage } from './docs-page.ts';
import { buildOpenApi } from './openapi.ts';

/** `GET /openapi.json` and `GET /docs`, both built once from the zod schemas. */
export function docsRoutes(): Router {
  const router = Router();
  const doc = buildOpenApi();
  const json = JSON.stringify(doc);
  const html = renderDocsPage(doc);

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });

  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type('html').send(html);
  });

  return router;
}

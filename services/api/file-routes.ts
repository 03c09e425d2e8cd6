import { Router } from 'express';
import { badRequest } from '../core/errors.ts';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { requireUser } from './conversations.ts';
import { downloadUrl, fileView } from './file-access.ts';
import type { FileDeps } from './file-deps.ts';
import { createFileRequest, downloadQuery, partUrlsRequest, recordPartRequest } from './file-schemas.ts';
import { abortUpload, partUrls, recordPart, startUpload } from './file-uploads.ts';
import type { FileVerifier } from './file-verification.ts';
import { jsonBody } from './json-body.ts';
import { parse } from './validate.ts';

/**
 * Files (docs/files.md): resumable multipart uploads straight to object storage through presigned
 * URLs (the API never holds file bytes), server-side verification, and short-lived downloads for
 * the members of the file's conversation.
 */
export function fileRoutes(ctx: RouteContext, deps: FileDeps, verifier: FileVerifier): Router {
  const router = Router();
  const me = (res: Parameters<typeof principalOf>[0]) => requireUser(principalOf(res));

  router.post('/v1/files', ctx.authenticated, jsonBody(), async (req, res) => {
    const input = parse(createFileRequest, req.body);
    await ctx.limits.check(['filesPerUser', me(res)]);
    const file = await startUpload(deps, me(res), input);
    res
      .status(201)
      .location(`/v1/files/${file.file_id}`)
      .json({ file_id: file.file_id, state: file.state, part_size: file.part_size, part_count: file.part_count, expires_at: file.expires_at });
  });

  router.post('/v1/files/:id/parts', ctx.authenticated, jsonBody(), async (req, res) => {
    const input = parse(partUrlsRequest, req.body);
    res.json(await partUrls(deps, me(res), req.params.id as string, input.part_numbers));
  });

  router.put('/v1/files/:id/parts/:n', ctx.authenticated, jsonBody(), async (req, res) => {
    const { etag } = parse(recordPartRequest, req.body);
    if (!/^\d{1,5}$/.test(req.params.n as string)) throw badRequest('invalid path: the part number must be an integer from 1 to 10000', [{ field: 'n', message: 'must be an integer from 1 to 10000' }]);
    res.json(await recordPart(deps, me(res), req.params.id as string, Number(req.params.n), etag));
  });

  router.get('/v1/files/:id', ctx.authenticated, async (req, res) => {
    res.json(await fileView(deps, me(res), req.params.id as string));
  });

  router.post('/v1/files/:id/complete', ctx.authenticated, async (req, res) => {
    const result = await verifier.complete(me(res), req.params.id as string);
    res.status(result.state === 'verifying' ? 202 : 200).json(result);
  });

  router.get('/v1/files/:id/download', ctx.authenticated, async (req, res) => {
    const { redirect } = parse(downloadQuery, req.query, 'query');
    const link = await downloadUrl(deps, me(res), req.params.id as string);
    res.setHeader('Cache-Control', 'no-store');
    if (redirect === 'false') res.json(link);
    else res.redirect(302, link.url);
  });

  router.delete('/v1/files/:id', ctx.authenticated, async (req, res) => {
    await abortUpload(deps, me(res), req.params.id as string);
    res.status(204).end();
  });

  return router;
}

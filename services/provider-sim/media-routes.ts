import { timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { metaError } from './meta-error.ts';
import type { SimContext } from './sim-context.ts';

const VERSION = /^v\d+\.\d+$/;

function hasBearer(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The Graph API's reads: the media of inbound messages, and Instagram user profiles.
 * Media, the way Meta serves it. WhatsApp: `GET /{version}/{media_id}`
 * with the bearer token answers `{messaging_product, url, mime_type, sha256, file_size, id}`, and
 * the `url` answers the bytes, again only with the bearer token. Instagram: the attachment's URL
 * answers the bytes as is. An unknown (or forgotten) media id answers Meta's error 100 with 404.
 * Profiles: `GET /{version}/{igsid}?fields=…` with the bearer token answers `{name, username, id}`,
 * the name given with `POST /_sim/inbound` or `Sim User <igsid>`.
 */
export function createMediaRouter(ctx: SimContext): Router {
  const router = express.Router();
  const unauthorized = (res: express.Response) => {
    const answer = metaError('whatsapp', 190, 'Invalid OAuth access token - Cannot parse access token');
    res.status(answer.status).set(answer.headers).json(answer.body);
  };
  const notFound = (res: express.Response, id: string) => {
    const answer = metaError('whatsapp', 100, `Unsupported get request. Object with ID '${id}' does not exist`);
    res.status(404).json(answer.body);
  };

  router.get('/_sim/media/:id', (req, res) => {
    const held = ctx.state.media.get(req.params.id);
    if (!held) return notFound(res, req.params.id);
    if (held.channel === 'whatsapp' && !hasBearer(req.get('authorization'), ctx.accessToken)) return unauthorized(res);
    res.type(held.mimeType).send(held.bytes);
  });

  router.get('/:version/:mediaId', (req, res, next) => {
    if (!VERSION.test(req.params.version)) return next();
    if (!hasBearer(req.get('authorization'), ctx.accessToken)) return unauthorized(res);
    const held = ctx.state.media.get(req.params.mediaId);
    if (!held && typeof req.query.fields === 'string') {
      // Instagram's User Profile API: `GET /{igsid}?fields=name,username`.
      const id = req.params.mediaId;
      const name = ctx.state.instagramProfiles.get(id) ?? `Sim User ${id}`;
      return void res.json({ name, username: name.toLowerCase().replace(/[^a-z0-9_.]+/g, '_'), id });
    }
    if (!held || held.channel !== 'whatsapp') return notFound(res, req.params.mediaId);
    res.json({
      messaging_product: 'whatsapp',
      url: `${req.protocol}://${req.get('host')}/_sim/media/${held.id}`,
      mime_type: held.mimeType,
      sha256: held.sha256,
      file_size: held.bytes.length,
      id: held.id,
    });
  });
  return router;
}

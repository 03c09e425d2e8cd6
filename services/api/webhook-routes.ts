import { Router } from 'express';
import { notFound } from '../core/errors.ts';
import type { Webhook, WebhookAttemptRecord } from '../core/ports/webhook-store.ts';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { requireUser } from './conversations.ts';
import { jsonBody } from './json-body.ts';
import { parse } from './validate.ts';
import { createWebhook } from '../webhooks/create-webhook.ts';
import type { WebhookEventType } from '../webhooks/events.ts';
import { webhookSettings, type WebhookSettings } from '../webhooks/settings.ts';
import { createWebhookRequest, webhookDeliveriesQuery } from './webhook-schemas.ts';

const webhookJson = (w: Webhook) => ({ webhook_id: w.webhook_id, url: w.url, events: w.events as WebhookEventType[], created_at: w.created_at });

const attemptJson = (a: WebhookAttemptRecord) => ({
  event_id: a.event_id,
  type: a.type,
  message_id: a.message_id,
  attempt: a.attempt,
  attempted_at: a.at,
  status_code: a.status_code,
  error: a.error,
  duration_ms: a.duration_ms,
  result: a.result,
});

/**
 * The caller's outbound webhooks (docs/webhooks.md). A webhook belongs to its creator: another
 * user's webhook answers 404. The secret appears in the 201 answer only.
 */
export function webhookRoutes(ctx: RouteContext, settings: Pick<WebhookSettings, 'allowPrivateTargets'> = webhookSettings(ctx.config)): Router {
  const router = Router();

  const ownWebhook = async (me: string, id: string) => {
    const webhook = await ctx.webhooks.getWebhook(id);
    if (!webhook || webhook.owner_id !== me) throw notFound('webhook');
    return webhook;
  };

  router.post('/v1/webhooks', ctx.authenticated, jsonBody(), async (req, res) => {
    const me = requireUser(principalOf(res));
    const input = parse(createWebhookRequest, req.body);
    await ctx.limits.check(['webhooksPerUser', me]);
    const webhook = await createWebhook(ctx, me, input, { allowPrivateTargets: settings.allowPrivateTargets });
    res.status(201).location(`/v1/webhooks/${webhook.webhook_id}`).json({ ...webhookJson(webhook), secret: webhook.secret });
  });

  router.get('/v1/webhooks', ctx.authenticated, async (_req, res) => {
    const me = requireUser(principalOf(res));
    res.json({ webhooks: (await ctx.webhooks.listWebhooks(me)).map(webhookJson) });
  });

  router.delete('/v1/webhooks/:id', ctx.authenticated, async (req, res) => {
    const me = requireUser(principalOf(res));
    if (!(await ctx.webhooks.deleteWebhook(me, req.params.id as string))) throw notFound('webhook');
    res.status(204).end();
  });

  router.get('/v1/webhooks/:id/deliveries', ctx.authenticated, async (req, res) => {
    const me = requireUser(principalOf(res));
    const { limit } = parse(webhookDeliveriesQuery, req.query, 'query');
    const webhook = await ownWebhook(me, req.params.id as string);
    res.json({ deliveries: (await ctx.webhooks.listWebhookAttempts(webhook.webhook_id, limit)).map(attemptJson) });
  });

  return router;
}

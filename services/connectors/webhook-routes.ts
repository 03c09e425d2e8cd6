import express from 'express';
import { AppError } from '../core/errors.ts';
import { bodyReadError, tooDeep } from '../core/body-errors.ts';
import type { Config } from '../core/config.ts';
import { jsonTooDeep } from '../core/json-depth.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../core/problem.ts';
import type { ChannelConnector, WebhookRequest } from './channel-connector.ts';
import { takeInbound, type InboundIntakeDeps } from './inbound-intake.ts';
import { takeStatuses, type StatusIntakeDeps } from './status-intake.ts';

export interface WebhookDeps extends StatusIntakeDeps {
  config: Pick<Config, 'providerWebhookMaxBytes' | 'maxJsonDepth' | 'providerStatusMatchWindowMs'>;
  connectors: Map<string, ChannelConnector>;
  /** The core's `acceptInbound`, bound to its ports (see `inbound-intake.ts`). */
  acceptInbound: InboundIntakeDeps['accept'];
}

/**
 * `GET /webhooks/:channel` answers the provider's subscription handshake; `POST` takes signed
 * status and inbound webhooks. A body over `PROVIDER_WEBHOOK_MAX_BYTES` answers 413, one nested
 * deeper than `MAX_JSON_DEPTH` 400. A status for a send we have not recorded yet answers 503 so
 * the provider retries it (providers retry non-2xx webhooks), but only within
 * `PROVIDER_STATUS_MATCH_WINDOW_MS` of the provider's event time: after that the send will never
 * be found (not ours, or forgotten), so the status is acknowledged and counted in
 * `provider_status_unmatched_total` instead of being retried forever. Statuses are applied to
 * the store before the 200 (`status-intake.ts`); replayed deliveries are harmless: statuses only
 * move forward (see `core/domain/status.ts`).
 */
export function webhookRoutes(deps: WebhookDeps): express.Router {
  const router = express.Router();
  const connectorFor = (channel: string) => {
    const c = deps.connectors.get(channel);
    if (!c) throw new AppError('not_found', `no connector for channel ${channel}`, { status: 404 });
    return c;
  };

  router.get('/webhooks/:channel', (req, res) => {
    const result = connectorFor(req.params.channel).verifySubscription(req.query as Record<string, unknown>);
    res.status(result.status).type('text/plain').send(result.body);
  });

  const maxBytes = deps.config.providerWebhookMaxBytes;
  const maxDepth = deps.config.maxJsonDepth;
  const readBody = express.raw({
    type: () => true,
    limit: maxBytes,
    verify: (_req, _res, buf) => {
      // Before the connector's JSON.parse, so nothing recurses into a deeply nested body.
      if (jsonTooDeep(buf, maxDepth)) throw tooDeep(maxDepth);
    },
  });

  const take = webhookTaker(deps);
  router.post('/webhooks/:channel', readBody, async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    await take(connectorFor(req.params.channel), rawBody, req.headers);
    res.status(200).json(RECEIVED);
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const { problem, headers } = webhookProblem(deps, bodyReadError(err, maxBytes) ?? err);
    res.status(problem.status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  });
  return router;
}

/** What a webhook taken in full is answered with. */
export const RECEIVED = { received: true };

/**
 * Takes one signed provider webhook: checks its signature, stores its inbound messages, applies
 * its statuses; throws the AppError to answer otherwise. Shared by the Express route and the fast
 * path (`webhook-fast-path.ts`), so both decide the same way.
 */
export function webhookTaker(deps: WebhookDeps) {
  return async (connector: ChannelConnector, rawBody: Buffer, headers: WebhookRequest['headers']): Promise<void> => {
    const channel = connector.channel;
    let parsed;
    try {
      parsed = connector.parseWebhook({ rawBody, headers });
    } catch (err) {
      deps.metrics.webhooks.inc({ channel, result: err instanceof AppError && err.status === 401 ? 'bad_signature' : 'bad_request' });
      throw err;
    }
    if (parsed.unrecognized) deps.metrics.statusUnmatched.inc({ channel, reason: 'unknown_status' }, parsed.unrecognized);
    // Durable before acknowledged: a message not stored answers 503 and the provider retries.
    if (parsed.inbound.length > 0 || parsed.refused.length > 0) {
      await takeInbound({ ...deps, accept: deps.acceptInbound, profileName: connector.profileName?.bind(connector) }, parsed.inbound, parsed.refused);
    }
    await takeStatuses(deps, connector, parsed.statuses);
    deps.metrics.webhooks.inc({ channel, result: 'ok' });
  };
}

/** The problem a webhook that was not taken is answered with; logs what the provider cannot fix. */
export function webhookProblem(deps: Pick<WebhookDeps, 'logger'>, err: unknown): ReturnType<typeof toProblem> {
  const answer = toProblem(err);
  if (answer.problem.status >= 500 && answer.problem.status !== 503) deps.logger.error({ err }, 'webhook handling failed');
  return answer;
}

import express from 'express';
import type { Bus } from '../core/ports/bus.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { StatusEvent } from '../core/domain/types.ts';
import { TOPICS } from '../core/topics.ts';
import { IDENTITY_CODE_REFERENCE } from '../core/records.ts';
import { AppError } from '../core/errors.ts';
import { bodyReadError, tooDeep } from '../core/body-errors.ts';
import type { Config } from '../core/config.ts';
import { jsonTooDeep } from '../core/json-depth.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../core/problem.ts';
import type { Logger } from '../core/logger.ts';
import type { ChannelConnector } from './channel-connector.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { takeInbound, type InboundIntakeDeps } from './inbound-intake.ts';

export interface WebhookDeps {
  config: Pick<Config, 'providerWebhookMaxBytes' | 'maxJsonDepth' | 'providerStatusMatchWindowMs'>;
  messages: MessageStore;
  deliveries: DeliveryStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
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
 * `provider_status_unmatched_total` instead of being retried forever. Replayed deliveries are
 * harmless: statuses only move forward (see `core/domain/status.ts`).
 */
export function webhookRoutes(deps: WebhookDeps): express.Router {
  const router = express.Router();
  // A time we cannot read counts as now: the provider gets its retries rather than a silent ack.
  const withinMatchWindow = (at: string) => {
    const t = Date.parse(at);
    return !Number.isFinite(t) || deps.clock.now() - t <= deps.config.providerStatusMatchWindowMs;
  };
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

  router.post('/webhooks/:channel', readBody, async (req, res) => {
    const channel = req.params.channel;
    const connector = connectorFor(channel);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let parsed;
    try {
      parsed = connector.parseWebhook({ rawBody, headers: req.headers });
    } catch (err) {
      deps.metrics.webhooks.inc({ channel, result: err instanceof AppError && err.status === 401 ? 'bad_signature' : 'bad_request' });
      throw err;
    }
    const events: { event: StatusEvent; key: string; traceId?: string }[] = [];
    let unknown = 0;
    if (parsed.unrecognized) deps.metrics.statusUnmatched.inc({ channel, reason: 'unknown_status' }, parsed.unrecognized);
    for (const s of parsed.statuses) {
      let delivery = await deps.deliveries.findDeliveryByProviderRef(connector.channel, s.provider_message_id);
      if (!delivery && s.reference) {
        // The provider echoed our reference: a send whose answer we never recorded (a crash) is matched now.
        const candidate = await deps.deliveries.getDelivery(s.reference);
        if (candidate && candidate.channel === connector.channel && (await deps.deliveries.recordProviderRef(candidate.delivery_id, s.provider_message_id))) {
          delivery = { ...candidate, provider_message_id: s.provider_message_id };
          deps.metrics.ambiguous.inc({ channel: connector.channel, outcome: 'recovered' });
          deps.logger.info({ delivery_id: candidate.delivery_id, provider_message_id: s.provider_message_id }, 'recovered a send from the provider echo');
        }
      }
      if (!delivery && s.reference?.startsWith(IDENTITY_CODE_REFERENCE)) {
        // A one-time identity code: sent once, tracked nowhere.
        deps.metrics.statusUnmatched.inc({ channel, reason: 'identity_code' });
        continue;
      }
      if (!delivery) {
        if (withinMatchWindow(s.at)) unknown++;
        else {
          deps.metrics.statusUnmatched.inc({ channel, reason: 'unknown_message' });
          deps.logger.info({ channel, provider_message_id: s.provider_message_id, at: s.at }, 'provider status matches no send; acknowledged');
        }
        continue;
      }
      const event: StatusEvent = { delivery_id: delivery.delivery_id, status: s.status, at: isoAt(deps.clock.now()), error: s.error, source: 'provider' };
      // The message's trace id goes back with the status, so one trace covers the round trip.
      const traceId = (await deps.messages.getMessage(delivery.message_id))?.trace_id;
      events.push({ event, key: delivery.conversation_id, traceId });
      deps.logger.debug({ message_id: delivery.message_id, conversation_id: delivery.conversation_id, trace_id: traceId, delivery_id: delivery.delivery_id, status: s.status }, 'provider status received');
    }
    // Durable before acknowledged: a message not stored answers 503 and the provider retries.
    await takeInbound({ ...deps, accept: deps.acceptInbound, profileName: connector.profileName?.bind(connector) }, parsed.inbound, parsed.refused);
    if (events.length > 0) {
      await deps.bus.publish(
        TOPICS.status,
        events.map((e) => ({ key: e.key, value: JSON.stringify(e.event), headers: e.traceId ? { trace_id: e.traceId } : undefined })),
      );
    }
    if (unknown > 0) {
      deps.metrics.webhooks.inc({ channel, result: 'unknown_message' });
      throw new AppError('unknown_message', `${unknown} status(es) name a message not recorded yet; retry later`, {
        status: 503,
        retriable: true,
        headers: { 'Retry-After': '1' },
      });
    }
    deps.metrics.webhooks.inc({ channel, result: 'ok' });
    res.status(200).json({ received: true });
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const { problem, headers } = toProblem(bodyReadError(err, maxBytes) ?? err);
    if (problem.status >= 500 && problem.status !== 503) deps.logger.error({ err }, 'webhook handling failed');
    res.status(problem.status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  });
  return router;
}

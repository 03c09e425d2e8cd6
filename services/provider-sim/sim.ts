import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAdminRouter } from './admin-routes.ts';
import type { Channel } from './channel.ts';
import { noFaultState } from './fault-state.ts';
import { InboundMediaStore } from './inbound-media.ts';
import { createMediaRouter } from './media-routes.ts';
import { sendProblem } from './problem.ts';
import { createSendHandler, matchSendPath } from './provider-routes.ts';
import { ReceivedLog } from './received-log.ts';
import { ResponseHolds } from './response-holds.ts';
import { copyConfig, normaliseRecipient, type SimConfig, type StatusOrder, type WebhookDelays } from './sim-config.ts';
import type { Clock, InstagramAccount, SimContext, SimState } from './sim-context.ts';
import { createSimMetrics } from './sim-metrics.ts';
import { SimStats } from './sim-stats.ts';
import { WebhookDispatcher, type WebhookBatching, type WebhookRetryPolicy } from './webhook-dispatcher.ts';
import type { WhatsAppAccount } from './whatsapp-api.ts';

/** Options of {@link createProviderSim}. */
export interface ProviderSimOptions {
  /** HMAC-SHA256 key of the `X-Hub-Signature-256` header on every webhook. */
  appSecret: string;
  /** The bearer token provider calls must carry; others get 401, Meta code 190. */
  accessToken: string;
  /** Where webhooks are POSTed. @default {} (none: events are counted as skipped) */
  webhookUrls?: Partial<Record<Channel, string>>;
  /** Delays after an accepted send. @default { sent: 20, delivered: 60, read: 120 } */
  webhookDelaysMs?: Partial<WebhookDelays>;
  /** Emit read events. @default true */
  autoRead?: boolean;
  /** @default "in_order" */
  order?: StatusOrder;
  /** Send every webhook twice. @default false */
  duplicate?: boolean;
  /** In shuffled order, the random wait of each inbound webhook, 0..this. @default 200 */
  inboundShuffleMs?: number;
  /** Recipients answered 131026 (WhatsApp) / 551 (Instagram). @default none */
  undeliverable?: Partial<Record<Channel, string[]>>;
  /** Webhook retry policy. @default { baseDelayMs: 200, maxAttempts: 8, requestTimeoutMs: 5000 } */
  webhookRetry?: Partial<WebhookRetryPolicy>;
  /** How webhook events share POSTs. @default { maxEvents: 100, maxInFlight: 16 } */
  webhookBatching?: Partial<WebhookBatching>;
  /** How long a timed-out call is held before its socket is destroyed. @default 30000 */
  timeoutHoldMs?: number;
  /** How long fetching a media link (`link`, `payload.url`) may take, body included. @default 8000 (under the connectors' 10 s provider timeout: the simulator fetches before it answers) */
  mediaFetchTimeoutMs?: number;
  /** Simulated WhatsApp Business account. @default { wabaId: "100000000000001", phoneNumberId: "100000000000002", displayPhoneNumber: "15550000000" } */
  whatsapp?: Partial<WhatsAppAccount>;
  /** Simulated Instagram account. @default { accountId: "17841400000000001" } */
  instagram?: Partial<InstagramAccount>;
  /** @default the system clock */
  clock?: Clock;
  /** Uniform [0, 1) source for fault rolls, jitter and shuffling. @default Math.random */
  random?: () => number;
  /** @default a silent logger */
  logger?: Logger;
  /** Registry for the simulator's metrics. @default a new Registry */
  registry?: Registry;
}

/** A provider simulator: its request handler (the caller listens) and its state. */
export interface ProviderSim {
  /** Serves every endpoint: `createServer(sim.handler)`. */
  handler: RequestListener;
  /** The admin API, `/healthz` and `/metrics` (and 404s); {@link handler} puts the send endpoints before it. */
  app: express.Express;
  /** Live state; tests may read it, the admin API is the way to change it. */
  state: SimState;
  registry: Registry;
  /** Cancels pending webhooks and held responses; the caller closes its HTTP server. */
  close(): Promise<void>;
}

/** Builds the simulator. It does not listen. */
export function createProviderSim(options: ProviderSimOptions): ProviderSim {
  const logger = options.logger ?? pino({ enabled: false });
  const registry = options.registry ?? new Registry();
  const stats = new SimStats(createSimMetrics(registry));
  const startConfig: SimConfig = {
    webhookUrls: { ...options.webhookUrls },
    webhookDelaysMs: { sent: 20, delivered: 60, read: 120, ...options.webhookDelaysMs },
    order: options.order ?? 'in_order',
    duplicate: options.duplicate ?? false,
    inboundShuffleMs: options.inboundShuffleMs ?? 200,
    autoRead: options.autoRead ?? true,
    undeliverable: {
      whatsapp: new Set((options.undeliverable?.whatsapp ?? []).map((r) => normaliseRecipient('whatsapp', r))),
      instagram: new Set((options.undeliverable?.instagram ?? []).map((r) => normaliseRecipient('instagram', r))),
    },
  };
  const state: SimState = { config: copyConfig(startConfig), faults: noFaultState(), received: new ReceivedLog(), stats, media: new InboundMediaStore(), instagramEdits: new Map(), instagramProfiles: new Map() };
  const dispatcher = new WebhookDispatcher({
    appSecret: options.appSecret,
    resolveUrl: (channel) => state.config.webhookUrls[channel],
    retry: { baseDelayMs: 200, maxAttempts: 8, requestTimeoutMs: 5000, ...options.webhookRetry },
    batching: { maxEvents: 100, maxInFlight: 16, ...options.webhookBatching },
    stats,
    logger,
  });
  const holds = new ResponseHolds();
  const ctx: SimContext = {
    accessToken: options.accessToken,
    whatsapp: { wabaId: '100000000000001', phoneNumberId: '100000000000002', displayPhoneNumber: '15550000000', ...options.whatsapp },
    instagram: { accountId: '17841400000000001', ...options.instagram },
    timeoutHoldMs: options.timeoutHoldMs ?? 30_000,
    mediaFetchTimeoutMs: options.mediaFetchTimeoutMs ?? 8000,
    state,
    reset() {
      dispatcher.cancelAll();
      state.config = copyConfig(startConfig);
      state.faults = noFaultState();
      state.received.clear();
      state.stats.reset();
      state.media.clear();
      state.instagramEdits.clear();
      state.instagramProfiles.clear();
    },
    dispatcher,
    holds,
    clock: options.clock ?? { now: () => Date.now() },
    random: options.random ?? Math.random,
    logger,
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.use(createMediaRouter(ctx));
  app.use('/_sim', createAdminRouter(ctx));
  app.use((req, res) => sendProblem(res, 404, 'Not found', `no endpoint ${req.method} ${req.originalUrl}`));

  const handleSend = createSendHandler(ctx);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const send = matchSendPath(req.method, req.url);
    if (!send) return void app(req, res);
    handleSend(req, res, send).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'provider send failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"(#1) An unknown error occurred","type":"OAuthException","code":1}}');
      else res.destroy();
    });
  };

  return {
    handler,
    app,
    state,
    registry,
    async close() {
      holds.close();
      await dispatcher.close();
    },
  };
}

export type { Clock, InstagramAccount, SimState } from './sim-context.ts';
export type { WebhookBatching, WebhookRetryPolicy } from './webhook-dispatcher.ts';
export type { WhatsAppAccount } from './whatsapp-api.ts';

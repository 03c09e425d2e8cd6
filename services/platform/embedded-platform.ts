import type { Server } from 'node:http';
import type { Config } from '../core/config.ts';
import { buildAdapters, type Adapters, type GivenAdapters } from '../core/build-adapters.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { listen, closeServer } from '../core/listen.ts';
import { composeApi } from '../api/compose.ts';
import { composeConnectors, type ConnectorsSettings } from '../connectors/compose.ts';
import { composeRouter, type RouterSettings } from '../router/compose.ts';
import { createProviderSim } from '../provider-sim/sim.ts';
import { composeGateway } from '../gateway/compose.ts';
import { startLocalS3, type LocalS3 } from '../lib/local-s3.ts';
import { buildObjectStore } from '../core/build-adapters.ts';
import { join } from 'node:path';

export interface EmbeddedPlatform {
  apiUrl: string;
  routerUrl: string;
  connectorsUrl: string;
  /** The push gateway's WebSocket endpoint (`ws://…/v1/stream`). */
  streamUrl: string;
  /** The provider simulator's URL, when this platform started one. */
  simUrl: string | null;
  /** The local S3's endpoint, when this platform started one (`localS3`). */
  s3Url: string | null;
  adapters: Adapters;
  logger: Logger;
  /** What the router and the connectors were wired with (the same as their own processes would be). */
  settings: { router: RouterSettings; connectors: ConnectorsSettings };
  /** Runs one outbox relay pass now. */
  relayTick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole platform in one process on the embedded defaults: API, router, connectors, one push
 * gateway and, when asked, the provider simulator. Each service is built by its own composition
 * root (`services/<service>/compose.ts`), exactly as its own process builds it, with its own HTTP
 * server and metric registry; they share the adapters.
 */
export async function startEmbeddedPlatform(
  config: Config,
  options: { logger?: Logger; adapters?: GivenAdapters; localS3?: boolean } = {},
): Promise<EmbeddedPlatform> {
  const logger = options.logger ?? createLogger('platform', config.logLevel);
  // `make up-embedded` has no `s3` process: the same local S3 runs in this process, on a free port.
  let s3: LocalS3 | null = null;
  let given = options.adapters;
  if (options.localS3 && !given?.objects) {
    s3 = await startLocalS3({ directory: join(config.dataDir, 's3'), port: 0, buckets: [config.s3Bucket] });
    given = { ...given, objects: buildObjectStore({ ...config, s3Endpoint: s3.endpoint, s3PublicEndpoint: s3.endpoint }) };
  }
  const adapters = await buildAdapters(config, given, logger);
  const servers: Server[] = [];
  const stops: (() => Promise<void>)[] = [];

  let simUrl: string | null = null;
  let sim: ReturnType<typeof createProviderSim> | null = null;
  if (config.startSimulator) {
    sim = createProviderSim({
      appSecret: config.metaAppSecret,
      accessToken: config.whatsappToken,
      webhookUrls: {},
      logger: logger.child({ service: 'provider-sim' }),
    });
    const s = await listen(sim.handler, config.simHost, config.simPort);
    servers.push(s.server);
    simUrl = s.url;
  }

  const connectors = await composeConnectors(config, adapters, logger.child({ service: 'connectors' }), { providerBaseUrl: simUrl ?? undefined });
  stops.push(() => connectors.stop());
  if (simUrl) {
    const res = await fetch(`${simUrl}/_sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        webhook_urls: { whatsapp: `${connectors.url}/webhooks/whatsapp`, instagram: `${connectors.url}/webhooks/instagram` },
      }),
    });
    if (!res.ok) throw new Error(`could not point the simulator's webhooks at the connectors: ${res.status} ${await res.text()}`);
  }

  const router = await composeRouter(config, adapters, logger.child({ service: 'router' }));
  stops.push(() => router.stop());

  const api = await composeApi(config, adapters, logger.child({ service: 'api' }));
  stops.push(() => api.stop());

  const gateway = await composeGateway(config, adapters, logger.child({ service: 'gateway' }));
  stops.push(() => gateway.stop());

  return {
    apiUrl: api.url,
    routerUrl: router.url,
    connectorsUrl: connectors.url,
    streamUrl: gateway.streamUrl,
    settings: { router: router.settings, connectors: connectors.settings },
    simUrl,
    s3Url: s3?.endpoint ?? null,
    adapters,
    logger,
    relayTick: () => router.relay.tick(),
    async stop() {
      // The simulator's server, then the API (no new messages), the router, the connectors (each
      // closes its server and drains its workers); the shared adapters last.
      await Promise.all(servers.map((s) => closeServer(s)));
      for (const stop of stops.reverse()) await stop();
      await sim?.close();
      await s3?.close();
      await adapters.bus.close();
      await adapters.store.close();
    },
  };
}

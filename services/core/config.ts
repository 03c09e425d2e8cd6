import { z } from 'zod';
import { KEYSPACE_NAME, type Replication } from './adapters/cassandra/schema.ts';
import { fileConfigFields } from './config-files.ts';
import { httpLimitFields, providerCallFields } from './config-limits.ts';
import { DEV_SECRETS, SERVICE_KINDS, devSecretsInUse, productionSecretProblems, secretsOf, type SecretKey } from './config-secrets.ts';
import { inboundConfigFields } from './config-inbound.ts';

export { DEFAULT_FILE_CONTENT_TYPES } from './config-files.ts';
export { DEV_SECRETS, MIN_CLIENT_SECRET_LENGTH, secretsOf, type ServiceKind } from './config-secrets.ts';


/** The least scrypt N production accepts: OWASP's recommendation for scrypt (N=2^17, r=8, p=1). */
export const SCRYPT_MIN_PRODUCTION_COST = 2 ** 17;

const port = (def: number, env: string) => z.coerce.number().int().min(0).max(65535).default(def).describe(env);
const limit = (def: number, env: string) => z.coerce.number().int().min(1).max(10_000_000).default(def).describe(env);
const bool = (def: boolean, env: string) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1')
    .describe(env);

/** Every setting of every service, read from the environment. */
export const configFields = z.object({
    /** `dev` allows built-in secrets and says so at start; `production` requires real ones. @default dev */
    profile: z.enum(['dev', 'production']).default('dev').describe('CHAT4ALL_PROFILE'),
    /**
     * Which process this is (each `main.ts` passes its own): production requires only the secrets
     * this service reads (`secretsOf`). @default platform (every secret)
     */
    service: z.enum(SERVICE_KINDS).default('platform').describe('CHAT4ALL_SERVICE'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('LOG_LEVEL'),
    /** Folder for the embedded stores. @default .data */
    dataDir: z.string().min(1).default('.data').describe('DATA_DIR'),

    /** Address the API binds. @default 127.0.0.1 */
    apiHost: z.string().default('127.0.0.1').describe('API_HOST'),
    /** @default 8080 */
    apiPort: port(8080, 'API_PORT'),
    /**
     * The push gateway's WebSocket URL as browsers reach it: the web client at /app connects to it,
     * and the page's Content-Security-Policy allows it. @default ws://127.0.0.1:8081/v1/stream
     */
    gatewayPublicUrl: z
      .string()
      .url()
      .refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL')
      .default('ws://127.0.0.1:8081/v1/stream')
      .describe('GATEWAY_PUBLIC_URL'),
    /** Address the connectors' webhook and metrics server binds. @default 127.0.0.1 */
    connectorsHost: z.string().default('127.0.0.1').describe('CONNECTORS_HOST'),
    /** @default 8090 */
    connectorsPort: port(8090, 'CONNECTORS_PORT'),
    /** Address the router's metrics and health server binds. @default 127.0.0.1 */
    routerHost: z.string().default('127.0.0.1').describe('ROUTER_HOST'),
    /** Router metrics and health server port. @default 8091 */
    routerPort: port(8091, 'ROUTER_PORT'),
    /** Address the push gateway binds. @default 127.0.0.1 */
    gatewayHost: z.string().default('127.0.0.1').describe('GATEWAY_HOST'),
    /** Push gateway port: WebSocket `/v1/stream`, health and metrics. @default 8081 */
    gatewayPort: port(8081, 'GATEWAY_PORT'),
    /**
     * The most messages a gateway replays for one conversation on `resume`; a client further
     * behind is told `recovered: false` and reloads over REST. @default 1000
     */
    gatewayReplayLimit: z.coerce.number().int().min(1).max(100_000).default(1000).describe('GATEWAY_REPLAY_LIMIT'),
    /** Bytes a gateway holds for one connection (unsent frames) before it closes it with 4429. @default 1048576 */
    gatewaySendQueueBytes: z.coerce.number().int().min(1024).default(1 << 20).describe('GATEWAY_SEND_QUEUE_BYTES'),
    /** How long a connection may take to send its `auth` frame when the upgrade carried no token. @default 5000 */
    gatewayAuthTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5000).describe('GATEWAY_AUTH_TIMEOUT_MS'),
    /** How often a gateway publishes the presence of its connected users. @default 5000 */
    gatewayPresenceHeartbeatMs: z.coerce.number().int().min(50).default(5000).describe('GATEWAY_PRESENCE_HEARTBEAT_MS'),
    /** How long a user stays online after the last heartbeat naming them (a dead gateway's users expire). @default 15000 */
    gatewayPresenceTtlMs: z.coerce.number().int().min(100).default(15_000).describe('GATEWAY_PRESENCE_TTL_MS'),
    /**
     * Port of a separate server for `/metrics` (and `/healthz`) of the API, routers and connectors,
     * on the service's host; the service's own port then answers 404 for `/metrics`. The Helm chart
     * sets 9464, so the public Services never expose metrics. Unset: `/metrics` on the service's port.
     */
    metricsPort: z.coerce.number().int().min(0).max(65535).optional().describe('METRICS_PORT'),
    /** @default 127.0.0.1 */
    simHost: z.string().default('127.0.0.1').describe('SIM_HOST'),
    /** Provider simulator port (only when the platform starts the simulator). @default 9300 */
    simPort: port(9300, 'SIM_PORT'),

    /**
     * Which message store: `cassandra` (a cluster: what the Helm chart selects), `sqlite` (one
     * file, one machine) or `memory` (one process). @default sqlite
     */
    store: z.enum(['sqlite', 'memory', 'cassandra']).default('sqlite').describe('STORE_DRIVER'),
    /** SQLite database file; defaults to `<dataDir>/chat4all.db`. */
    sqlitePath: z.string().optional().describe('SQLITE_PATH'),
    /** Cassandra nodes to start from, `host:port` comma separated; required with `STORE_DRIVER=cassandra`. */
    cassandraContactPoints: z
      .string()
      .default('')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .describe('CASSANDRA_CONTACT_POINTS'),
    /** The data center the store's queries go to (LOCAL_QUORUM is counted there). @default datacenter1 */
    cassandraLocalDataCenter: z.string().min(1).default('datacenter1').describe('CASSANDRA_LOCAL_DATA_CENTER'),
    /** The store's keyspace, created with its tables at start when missing (see `CASSANDRA_SCHEMA`). @default chat4all */
    cassandraKeyspace: z
      .string()
      .regex(KEYSPACE_NAME, 'use lower-case letters, digits and _ (at most 48, starting with a letter)')
      .default('chat4all')
      .describe('CASSANDRA_KEYSPACE'),
    /**
     * How old a status history entry must be before client webhooks hear of it (Cassandra only:
     * history ids come from the writers' clocks). Longer than an LWT can take plus clock skew. @default 5000
     */
    cassandraHistorySettleMs: z.coerce.number().int().min(0).max(600_000).default(5000).describe('CASSANDRA_HISTORY_SETTLE_MS'),
    /** Cassandra user (PasswordAuthenticator); unset when the cluster has no authentication. */
    cassandraUsername: z.string().optional().describe('CASSANDRA_USERNAME'),
    /** Password of `CASSANDRA_USERNAME`. */
    cassandraPassword: z.string().optional().describe('CASSANDRA_PASSWORD'),
    /**
     * Replication of the keyspace when the store has to create it (an existing keyspace is left as
     * it is): `SimpleStrategy:<factor>` for one data center, or `<dc>:<factor>,<dc>:<factor>` for
     * NetworkTopologyStrategy (production: e.g. `datacenter1:3`). @default SimpleStrategy:1
     */
    cassandraReplication: z
      .string()
      .default('SimpleStrategy:1')
      .transform((s, ctx): Replication => {
        const simple = /^SimpleStrategy:(\d+)$/.exec(s.trim());
        if (simple) return { class: 'SimpleStrategy', replicationFactor: Number(simple[1]) };
        const dataCenters: Record<string, number> = {};
        for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
          const m = /^([\w.-]+):(\d+)$/.exec(part);
          if (!m) {
            ctx.addIssue({ code: 'custom', message: `"${part}" is neither SimpleStrategy:<factor> nor <data center>:<factor>` });
            return z.NEVER;
          }
          dataCenters[m[1]!] = Number(m[2]);
        }
        if (Object.keys(dataCenters).length === 0) {
          ctx.addIssue({ code: 'custom', message: 'name at least one <data center>:<factor>, or SimpleStrategy:<factor>' });
          return z.NEVER;
        }
        return { class: 'NetworkTopologyStrategy', dataCenters };
      })
      .describe('CASSANDRA_REPLICATION'),
    /** How long a process tries to reach Cassandra at start before it exits with an error. @default 10000 */
    cassandraConnectTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(10_000).describe('CASSANDRA_CONNECT_TIMEOUT_MS'),
    /**
     * What a process does about the Cassandra schema at start. `create`: create the keyspace and
     * the tables that are missing (dev, and the chart's schema Job). `wait`: send no DDL and wait
     * until the keyspace and every table exist (`CASSANDRA_SCHEMA_WAIT_MS` at most): what the
     * chart's workloads do, because pods that start together and all create a table can give it
     * two table ids (CASSANDRA-10699). @default create
     */
    cassandraSchema: z.enum(['create', 'wait']).default('create').describe('CASSANDRA_SCHEMA'),
    /** With `CASSANDRA_SCHEMA=wait`: how long a process waits for the schema before it exits with an error. @default 300000 */
    cassandraSchemaWaitMs: z.coerce.number().int().min(0).max(3_600_000).default(300_000).describe('CASSANDRA_SCHEMA_WAIT_MS'),
    /** Which bus: `memory` (one process) or `kafka`. @default memory */
    bus: z.enum(['memory', 'kafka']).default('memory').describe('BUS_DRIVER'),
    /** Kafka bootstrap servers, comma separated. */
    kafkaBrokers: z
      .string()
      .default('')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .describe('KAFKA_BROKERS'),
    /**
     * Partitions a consumer handles at once (each in order). A retriable provider failure holds
     * its partition while it waits, so connectors want this as high as the partition count. @default 12
     */
    consumerConcurrency: z.coerce.number().int().min(1).max(1024).default(12).describe('CONSUMER_CONCURRENCY'),
    /**
     * Conversations a consumer handles at once within one partition (each conversation in order),
     * so one slow or parked conversation does not hold up the others on its partition, and the
     * throughput of a partition is not one round trip at a time. 1 handles a partition strictly in
     * order. @default 16
     */
    consumerKeyConcurrency: z.coerce.number().int().min(1).max(1024).default(16).describe('CONSUMER_KEY_CONCURRENCY'),
    /** Consumer session timeout: a silent member leaves its group after this. @default 6000 */
    kafkaSessionTimeoutMs: z.coerce.number().int().min(1000).default(6000).describe('KAFKA_SESSION_TIMEOUT_MS'),
    /** @default 1000 */
    kafkaHeartbeatMs: z.coerce.number().int().min(100).default(1000).describe('KAFKA_HEARTBEAT_MS'),
    /**
     * Delay before a group leader assigns partitions. The dev broker needs about 300 ms so that
     * followers sync in time; 0 for a real Kafka. @default 0
     */
    kafkaAssignDelayMs: z.coerce.number().int().min(0).max(10000).default(0).describe('KAFKA_ASSIGN_DELAY_MS'),
    /**
     * How long a fetch may wait for records. A real Kafka answers as soon as a record arrives, so
     * this only bounds idle polling; the dev broker holds every fetch of an empty partition for
     * the whole wait, which adds it to each hop's latency, so the local platform sets 10. @default 100
     */
    kafkaMaxWaitMs: z.coerce.number().int().min(1).max(10000).default(100).describe('KAFKA_MAX_WAIT_MS'),
    /**
     * How long a producer gathers records before sending them (one request, and one message set
     * per partition, per flush): latency per hop against records per message set. @default 2
     */
    kafkaLingerMs: z.coerce.number().int().min(0).max(1000).default(2).describe('KAFKA_LINGER_MS'),
    /** Name of this process, in logs and as the Kafka client id. @default chat4all */
    serviceName: z.string().default('chat4all').describe('SERVICE_NAME'),
    /** Partitions of the message and delivery topics. @default 12 */
    partitions: z.coerce.number().int().min(1).max(1024).default(12).describe('KAFKA_PARTITIONS'),

    /** HMAC secret for access tokens. Required outside the dev profile. */
    jwtSecret: z.string().optional().describe('JWT_SECRET'),
    /**
     * Secret that turns its authenticated bearer into an admin once (`POST /v1/admin/bootstrap`),
     * so an install can create its first admin without a shell in a pod. Optional, API only, no
     * dev default; production needs 32 characters or more. Remove it after use.
     */
    adminBootstrapToken: z.string().optional().describe('ADMIN_BOOTSTRAP_TOKEN'),
    /** Access token lifetime in seconds. @default 3600 */
    jwtTtlSeconds: z.coerce.number().int().min(60).max(86400 * 7).default(3600).describe('JWT_TTL_SECONDS'),
    /** Service clients as `id:secret,id2:secret2`. @default dev profile: `demo-client:demo-secret` */
    authClients: z.string().optional().describe('AUTH_CLIENTS'),
    /**
     * scrypt cost parameter N for password hashes (a power of two; r = 8, p = 1). One hash holds
     * 128·N·r bytes: 128 MiB at the default. Production refuses less than the default (OWASP's
     * recommendation); old hashes keep their own N and are rehashed at the next login. @default 131072 (2^17)
     */
    scryptCost: z.coerce.number().int().min(2).max(2 ** 20).default(SCRYPT_MIN_PRODUCTION_COST).describe('SCRYPT_COST'),
    /** Password hashes computed at once per process (each holds a libuv pool thread and 128·N·r bytes). @default 2 */
    passwordHashConcurrency: z.coerce.number().int().min(1).max(64).default(2).describe('PASSWORD_HASH_CONCURRENCY'),
    /** Password hashes that may wait for a slot; beyond this a login or registration answers 503 at once. @default 32 */
    passwordHashQueue: z.coerce.number().int().min(0).max(10_000).default(32).describe('PASSWORD_HASH_QUEUE'),

    /**
     * Whether the API applies its rate limits (docs/api.md "Rate limits"); `false` turns every one
     * off. The counters live in the store, so every API replica on it counts together. @default true
     */
    rateLimitEnabled: bool(true, 'RATE_LIMIT_ENABLED'),
    /** The window of every rate limit, in ms: each limit below is "at most N per window". @default 60000 */
    rateLimitWindowMs: z.coerce.number().int().min(1000).max(86_400_000).default(60_000).describe('RATE_LIMIT_WINDOW_MS'),
    /** Logins (`POST /auth/token`, user or client credentials) per client address per window. @default 600 */
    rateLimitLoginPerIp: limit(600, 'RATE_LIMIT_LOGIN_PER_IP'),
    /** Logins per username per window (password guessing against one account). @default 30 */
    rateLimitLoginPerUsername: limit(30, 'RATE_LIMIT_LOGIN_PER_USERNAME'),
    /** Registrations (`POST /auth/register`) per client address per window. @default 600 */
    rateLimitRegisterPerIp: limit(600, 'RATE_LIMIT_REGISTER_PER_IP'),
    /** Registration attempts per username per window (each costs a password hash, taken or not). @default 10 */
    rateLimitRegisterPerUsername: limit(10, 'RATE_LIMIT_REGISTER_PER_USERNAME'),
    /**
     * Messages sent (`POST /v1/messages`) per user per window. High because the load tests and the
     * failover test send from one user (200 msg/s). @default 30000 (500/s)
     */
    rateLimitSendsPerUser: limit(30000, 'RATE_LIMIT_SENDS_PER_USER'),
    /** Messages sent per conversation per window, by all its members. @default 12000 (200/s) */
    rateLimitSendsPerConversation: limit(12000, 'RATE_LIMIT_SENDS_PER_CONVERSATION'),
    /** Identity links (`POST /v1/users/me/identities`) per user per window. @default 30 */
    rateLimitIdentityLinksPerUser: limit(30, 'RATE_LIMIT_IDENTITY_LINKS_PER_USER'),
    /** Webhook creations (`POST /v1/webhooks`) per user per window. @default 30 */
    rateLimitWebhooksPerUser: limit(30, 'RATE_LIMIT_WEBHOOKS_PER_USER'),
    /** Upload sessions started (`POST /v1/files`) per user per window. @default 600 (10/s) */
    rateLimitFilesPerUser: limit(600, 'RATE_LIMIT_FILES_PER_USER'),
    /**
     * Whether the API is behind a proxy that sets `X-Forwarded-For`: then the per-address limits
     * use the client address it reports (Express `trust proxy`, one hop); otherwise the socket's
     * address, and `X-Forwarded-For` is ignored (anyone could set it). @default false
     */
    trustProxy: bool(false, 'TRUST_PROXY'),

    /** Base URL of the WhatsApp Cloud API (the simulator in dev). */
    whatsappBaseUrl: z.string().url().optional().describe('WHATSAPP_API_BASE'),
    /** @default v21.0 */
    whatsappApiVersion: z.string().default('v21.0').describe('WHATSAPP_API_VERSION'),
    /** @default 100000000000001 */
    whatsappPhoneNumberId: z.string().default('100000000000001').describe('WHATSAPP_PHONE_NUMBER_ID'),
    whatsappToken: z.string().optional().describe('WHATSAPP_TOKEN'),
    /** Base URL of the Instagram Messaging API (the simulator in dev). */
    instagramBaseUrl: z.string().url().optional().describe('INSTAGRAM_API_BASE'),
    /** @default v21.0 */
    instagramApiVersion: z.string().default('v21.0').describe('INSTAGRAM_API_VERSION'),
    instagramAccountId: z.string().optional().describe('INSTAGRAM_ACCOUNT_ID'),
    instagramToken: z.string().optional().describe('INSTAGRAM_TOKEN'),
    /** Meta app secret: webhooks are signed with it. Required outside the dev profile. */
    metaAppSecret: z.string().optional().describe('META_APP_SECRET'),
    /** Token the provider echoes in the webhook subscription handshake. */
    webhookVerifyToken: z.string().optional().describe('WEBHOOK_VERIFY_TOKEN'),
    /** Channels this connector process serves, comma separated. @default whatsapp,instagram */
    connectorChannels: z
      .string()
      .default('whatsapp,instagram')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(z.enum(['whatsapp', 'instagram'])).min(1))
      .describe('CONNECTOR_CHANNELS'),
    ...providerCallFields,
    ...fileConfigFields,

    ...httpLimitFields,
    /**
     * How long after the provider's event time a status the platform cannot match to a send is
     * still refused with 503 (the send may not be recorded yet, and the provider retries); after
     * that it is acknowledged and counted (`provider_status_unmatched_total`). @default 300000 (5 min)
     */
    providerStatusMatchWindowMs: z.coerce.number().int().min(0).max(7 * 86_400_000).default(300_000).describe('PROVIDER_STATUS_MATCH_WINDOW_MS'),
    /**
     * Whether linking an external address needs proof of ownership: `on`, the link stays pending
     * until the one-time code sent through that channel comes back (and a pending link receives
     * nothing); `off`, a link is active at once. `off` is for tests, experiments and benchmarks
     * only: production refuses it. @default on
     */
    identityVerification: z.enum(['on', 'off']).default('on').describe('IDENTITY_VERIFICATION'),
    /** How long a one-time identity code stays valid (ms). @default 600000 (10 min) */
    identityCodeTtlMs: z.coerce.number().int().min(10_000).max(86_400_000).default(600_000).describe('IDENTITY_CODE_TTL_MS'),
    /** Wrong codes allowed per pending link before it must be linked again. @default 5 */
    identityCodeMaxTries: z.coerce.number().int().min(1).max(20).default(5).describe('IDENTITY_CODE_MAX_TRIES'),
    /** Most members a group may have (at most 1024), checked when it is created and, by the store in the same transaction as the write, when a member is added. @default 256 */
    maxGroupMembers: z.coerce.number().int().min(2).max(1024).default(256).describe('MAX_GROUP_MEMBERS'),
    /**
     * Most identities (external addresses) one user may link on one channel, enforced by the store
     * in the same transaction as the link, so parallel links cannot overshoot it. @default 10
     */
    maxIdentitiesPerChannel: z.coerce.number().int().min(1).max(1000).default(10).describe('MAX_IDENTITIES_PER_CHANNEL'),
    ...inboundConfigFields,
    /**
     * Most bytes of records the router publishes in one call (and the Kafka bus sends in one
     * request): a group's delivery jobs are split to stay under the broker's max message size
     * (1 MiB by default), keeping each key's order. @default 524288 (512 KiB)
     */
    busMaxBatchBytes: z.coerce.number().int().min(16 * 1024).max(64 * 1024 * 1024).default(512 * 1024).describe('BUS_MAX_BATCH_BYTES'),

    /** How long the API waits for the bus before answering 202 anyway (the store already holds the message). @default 1000 */
    publishWaitMs: z.coerce.number().int().min(0).default(1000).describe('PUBLISH_WAIT_MS'),
    /** Whether client webhooks may target private, loopback or link-local addresses (tests, closed networks). @default false */
    webhooksAllowPrivateTargets: bool(false, 'WEBHOOKS_ALLOW_PRIVATE_TARGETS'),
    /** How long a client webhook event is retried before it is given up. @default 24 */
    webhookRetryHours: z.coerce.number().min(0.001).max(24 * 14).default(24).describe('WEBHOOK_RETRY_HOURS'),
    /** Timeout of one client webhook call. @default 5000 */
    webhookTimeoutMs: z.coerce.number().int().min(100).max(60000).default(5000).describe('WEBHOOK_TIMEOUT_MS'),
    /**
     * Client webhook callbacks one subscriber (the owner of the webhooks) may have in flight at
     * once per dispatcher, of its 8: a subscriber with slow endpoints waits for its own. @default 2
     */
    webhookSubscriberConcurrency: z.coerce.number().int().min(1).max(8).default(2).describe('WEBHOOK_SUBSCRIBER_CONCURRENCY'),
    /**
     * Pause between the client webhook dispatcher's passes (it runs in each router process): how
     * soon after a status change its callback leaves, at the earliest. @default 1000
     */
    webhookIntervalMs: z.coerce.number().int().min(10).max(60_000).default(1000).describe('WEBHOOK_INTERVAL_MS'),
    /** How often the outbox relay looks for accepted messages not yet routed. @default 1000 */
    relayIntervalMs: z.coerce.number().int().min(50).default(1000).describe('RELAY_INTERVAL_MS'),
    /** How old an unrouted message must be before the relay republishes it. @default 5000 */
    relayAgeMs: z.coerce.number().int().min(0).default(5000).describe('RELAY_AGE_MS'),
    /** Whether this process starts the provider simulator (dev platform only). @default false */
    startSimulator: bool(false, 'START_SIMULATOR'),

    // Test- and experiment-only settings: read here like every other, handed to the router as options
    // by its composition root (services/router/experiment-switches.ts), never read from the environment again.
    /**
     * Emulates a remote store's round trip (ms) before each routing write, so that routing, not
     * the API or the connectors, bounds throughput (the `scale-routers` experiment). Never set in
     * production. @default 0 (off)
     */
    routerEmulatedStoreLatencyMs: z.coerce.number().int().min(0).max(10000).default(0).describe('ROUTER_EMULATED_STORE_LATENCY_MS'),
    /** Emulated store connections per router: round trips in flight at once. @default 2 */
    routerEmulatedStoreConnections: z.coerce.number().int().min(1).max(1024).default(2).describe('ROUTER_EMULATED_STORE_CONNECTIONS'),
    /**
     * Sabotage for the experiments' own test: both ways a router recovers a message whose record
     * never reached the bus are off. The outbox relay does nothing, and routing a message no
     * longer routes the older unrouted ones of its conversation first. Never set outside that
     * test. @default false
     */
    chaosDisableRecovery: bool(false, 'CHAOS_DISABLE_RECOVERY'),
  });

export const configSchema = configFields
  .superRefine((c, ctx) => {
    if (c.profile === 'production') {
      for (const problem of productionSecretProblems(c)) ctx.addIssue({ code: 'custom', ...problem });
      if (c.identityVerification === 'off') {
        ctx.addIssue({
          code: 'custom',
          path: ['identityVerification'],
          message: 'IDENTITY_VERIFICATION=off (links active without proof of ownership) is for tests only, refused when CHAT4ALL_PROFILE=production: leave it unset',
        });
      }
      if (c.scryptCost < SCRYPT_MIN_PRODUCTION_COST) {
        ctx.addIssue({
          code: 'custom',
          path: ['scryptCost'],
          message: `SCRYPT_COST (${c.scryptCost}) is below ${SCRYPT_MIN_PRODUCTION_COST} (OWASP's minimum for scrypt), refused when CHAT4ALL_PROFILE=production: raise it or leave it unset`,
        });
      }
    }
    if (c.store === 'cassandra' && c.cassandraContactPoints.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['cassandraContactPoints'], message: 'STORE_DRIVER=cassandra needs CASSANDRA_CONTACT_POINTS (host:port,…)' });
    }
    if (Boolean(c.cassandraUsername) !== Boolean(c.cassandraPassword)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.cassandraUsername ? 'cassandraPassword' : 'cassandraUsername'],
        message: 'CASSANDRA_USERNAME and CASSANDRA_PASSWORD go together: set both, or neither when the cluster has no authentication',
      });
    }
    if (c.store === 'cassandra' && c.cassandraReplication.class === 'NetworkTopologyStrategy' && !(c.cassandraLocalDataCenter in c.cassandraReplication.dataCenters)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cassandraReplication'],
        message: `CASSANDRA_REPLICATION (${Object.keys(c.cassandraReplication.dataCenters).join(', ')}) keeps no replica in CASSANDRA_LOCAL_DATA_CENTER (${c.cassandraLocalDataCenter}), so LOCAL_QUORUM could never be met: add ${c.cassandraLocalDataCenter}:<factor> or fix the data center name`,
      });
    }
    if (c.bus === 'kafka' && c.kafkaBrokers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['kafkaBrokers'], message: 'BUS_DRIVER=kafka needs KAFKA_BROKERS (host:port,…)' });
    }
    if (c.kafkaHeartbeatMs * 3 > c.kafkaSessionTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafkaHeartbeatMs'],
        message: `KAFKA_HEARTBEAT_MS (${c.kafkaHeartbeatMs}) must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${c.kafkaSessionTimeoutMs}): lower the heartbeat or raise the timeout`,
      });
    }
    if (c.gatewayPresenceTtlMs < 2 * c.gatewayPresenceHeartbeatMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['gatewayPresenceTtlMs'],
        message: `GATEWAY_PRESENCE_TTL_MS (${c.gatewayPresenceTtlMs}) must be at least twice GATEWAY_PRESENCE_HEARTBEAT_MS (${c.gatewayPresenceHeartbeatMs}), or one late heartbeat shows people offline: raise the TTL or shorten the heartbeat`,
      });
    }
    if (c.httpHeadersTimeoutMs > c.httpRequestTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['httpHeadersTimeoutMs'],
        message: `HTTP_HEADERS_TIMEOUT_MS (${c.httpHeadersTimeoutMs}) exceeds HTTP_REQUEST_TIMEOUT_MS (${c.httpRequestTimeoutMs}), which includes the headers: lower the first or raise the second`,
      });
    }
    if ((c.scryptCost & (c.scryptCost - 1)) !== 0) {
      ctx.addIssue({ code: 'custom', path: ['scryptCost'], message: `SCRYPT_COST (${c.scryptCost}) must be a power of two, e.g. 16384` });
    }
  })
  .transform((c) => {
    const simBase = `http://${c.simHost}:${c.simPort}`;
    const dev = c.profile === 'dev';
    // Outside dev a secret the service does not read stays empty: never a published value.
    const secret = (key: SecretKey, env: keyof typeof DEV_SECRETS) => c[key] ?? (dev ? DEV_SECRETS[env] : '');
    return {
      ...c,
      sqlitePath: c.sqlitePath ?? `${c.dataDir}/chat4all.db`,
      jwtSecret: secret('jwtSecret', 'JWT_SECRET'),
      authClients: parseClients(secret('authClients', 'AUTH_CLIENTS')),
      whatsappBaseUrl: c.whatsappBaseUrl ?? simBase,
      whatsappToken: secret('whatsappToken', 'WHATSAPP_TOKEN'),
      instagramBaseUrl: c.instagramBaseUrl ?? simBase,
      instagramToken: secret('instagramToken', 'INSTAGRAM_TOKEN'),
      metaAppSecret: secret('metaAppSecret', 'META_APP_SECRET'),
      webhookVerifyToken: secret('webhookVerifyToken', 'WEBHOOK_VERIFY_TOKEN'),
      s3AccessKey: secret('s3AccessKey', 'S3_ACCESS_KEY_ID'),
      s3SecretKey: secret('s3SecretKey', 'S3_SECRET_ACCESS_KEY'),
      s3PublicEndpoint: c.s3PublicEndpoint ?? c.s3Endpoint,
      // Never a default, in dev neither: empty means the bootstrap route answers 404.
      adminBootstrapToken: secretsOf(c.service, c.connectorChannels).includes('adminBootstrapToken') ? (c.adminBootstrapToken ?? '') : '',
      /** Every secret that fell back to its built-in dev value (or was set to one), to warn about at start. */
      devSecretsInUse: dev ? devSecretsInUse(c, secretsOf(c.service, c.connectorChannels)) : [],
    };
  });

export type Config = z.output<typeof configSchema>;

function parseClients(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(':');
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

/** Maps each config key to the environment variable named in its `.describe()`. */
function envNames(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, schema] of Object.entries(configFields.shape as Record<string, z.ZodType>)) if (schema.description) out[key] = schema.description;
  return out;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the whole configuration; reports every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Config {
  const names = envNames();
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(names)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const result = configSchema.safeParse({ ...raw, ...overrides });
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = String(i.path[0] ?? '');
        return `${names[key] ?? key}: ${i.message}`;
      }),
    );
  }
  return result.data;
}

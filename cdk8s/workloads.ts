import { connectorGroup, GROUPS } from '../services/core/topics.ts';
import { API_PRESTOP_SECONDS, defaultLagTopic, type Chat4AllProps } from './chart-props.ts';

/** The compiled entry point of each process, as the image runs it (`node <entry>`, WORKDIR /app). */
export const ENTRYPOINTS = {
  api: 'dist/services/api/main.js',
  gateway: 'dist/services/gateway/main.js',
  router: 'dist/services/router/main.js',
  connector: 'dist/services/connectors/main.js',
  'provider-sim': 'dist/services/provider-sim/main.js',
  // The operator is another issue's work: this is the contract its main.ts must meet.
  operator: 'dist/operator/main.js',
  // The one-off Job that creates the Cassandra keyspace and tables (cassandraSchemaJob below).
  'cassandra-schema': 'dist/services/core/cassandra-schema-main.js',
} as const;

/**
 * The port the API, routers and connectors serve `/metrics` on (METRICS_PORT), apart from their
 * service port, so that the public Services never expose metrics. ServiceMonitors scrape it through
 * the `<name>-<component>-metrics` Services.
 */
export const METRICS_PORT = 9464;

/** Consumer groups, as the services name them (one list: services/core/topics.ts). */
export const ROUTER_GROUP = GROUPS.router;
export { connectorGroup };

export type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string; optional: boolean } } }
  | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

type Resources = Chat4AllProps['api']['resources'];

/** One Deployment of the platform and everything about it the other objects need. */
export interface Workload {
  /** `app.kubernetes.io/component` and the object name suffix. */
  component: string;
  /** Which props section configures it. */
  key: 'api' | 'gateway' | 'router' | 'connectors' | 'providerSim' | 'operator';
  command: string[];
  port: number;
  /** Where `/metrics` is served apart from `port` (METRICS_PORT); null: on `port` (simulator, operator). */
  metricsPort: number | null;
  readinessPath: string;
  env: EnvVar[];
  /** How it scales when autoscaling.mode is not `none`. */
  scaling: { kind: 'cpu' } | { kind: 'lag'; group: string; topic: string } | { kind: 'fixed' };
  replicas: number;
  resources: Resources;
  terminationGracePeriodSeconds: number;
  preStopSleepSeconds: number;
  /** Only the operator talks to the Kubernetes API. */
  serviceAccount: boolean;
}

const secretEnv = (name: string, ref: { name: string; key: string; optional: boolean }): EnvVar => ({ name, valueFrom: { secretKeyRef: { ...ref } } });

/**
 * The credentials one service reads, and no others (services/core/config.ts `secretsOf`): the API
 * gets the JWT secret, the client credentials, the object store keys (for files) and the optional
 * admin bootstrap token; a
 * connector, which parses bodies from the internet, gets the Meta app secret, the verify token,
 * the object store keys (it presigns a file message's media link) and its own channel's token; the gateway the JWT secret (it verifies access tokens); the router only
 * the store's credentials, which all of them use.
 */
export function serviceSecrets(p: Chat4AllProps, service: 'api' | 'gateway' | 'router' | { connector: string }): EnvVar[] {
  const s = p.secrets;
  const own: EnvVar[] =
    service === 'api'
      ? [
          secretEnv('JWT_SECRET', s.jwtSecret),
          secretEnv('AUTH_CLIENTS', s.authClients),
          secretEnv('S3_ACCESS_KEY_ID', s.objectStoreAccessKey),
          secretEnv('S3_SECRET_ACCESS_KEY', s.objectStoreSecretKey),
          // Optional: while the key exists, POST /v1/admin/bootstrap can make the first admin.
          secretEnv('ADMIN_BOOTSTRAP_TOKEN', s.adminBootstrapToken),
        ]
      : service === 'gateway'
        ? [secretEnv('JWT_SECRET', s.jwtSecret)] // it verifies the API's access tokens
        : service === 'router'
          ? []
        : [
            secretEnv('META_APP_SECRET', s.metaAppSecret),
            secretEnv('WEBHOOK_VERIFY_TOKEN', s.webhookVerifyToken),
            // A file message's media link is a URL presigned with the object store's keys.
            secretEnv('S3_ACCESS_KEY_ID', s.objectStoreAccessKey),
            secretEnv('S3_SECRET_ACCESS_KEY', s.objectStoreSecretKey),
            service.connector === 'whatsapp' ? secretEnv('WHATSAPP_TOKEN', s.whatsappToken) : secretEnv('INSTAGRAM_TOKEN', s.instagramToken),
          ];
  return [...own, secretEnv('CASSANDRA_USERNAME', s.cassandraUsername), secretEnv('CASSANDRA_PASSWORD', s.cassandraPassword)];
}

const podName: EnvVar = { name: 'SERVICE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };

/** The workloads of one installation, in a fixed order. */
export function workloads(p: Chat4AllProps): Workload[] {
  const out: Workload[] = [
    {
      component: 'api',
      key: 'api',
      command: ['node', ENTRYPOINTS.api],
      port: 8080,
      metricsPort: METRICS_PORT,
      readinessPath: '/readyz',
      env: [podName, ...serviceSecrets(p, 'api')],
      scaling: { kind: 'cpu' },
      replicas: p.api.replicas,
      resources: p.api.resources,
      terminationGracePeriodSeconds: p.api.terminationGracePeriodSeconds,
      preStopSleepSeconds: API_PRESTOP_SECONDS,
      serviceAccount: false,
    },
    {
      // WebSockets of people (docs/realtime.md): every replica reads every realtime record, so it
      // scales with connections (CPU), not with a consumer group's lag.
      component: 'gateway',
      key: 'gateway',
      command: ['node', ENTRYPOINTS.gateway],
      port: 8081,
      metricsPort: METRICS_PORT,
      readinessPath: '/readyz',
      env: [podName, ...serviceSecrets(p, 'gateway')],
      scaling: { kind: 'cpu' },
      replicas: p.gateway.replicas,
      resources: p.gateway.resources,
      terminationGracePeriodSeconds: p.gateway.terminationGracePeriodSeconds,
      // Out of the Service's endpoints before it closes its connections with 1001, so they reconnect elsewhere.
      preStopSleepSeconds: API_PRESTOP_SECONDS,
      serviceAccount: false,
    },
    {
      component: 'router',
      key: 'router',
      command: ['node', ENTRYPOINTS.router],
      port: 8091,
      metricsPort: METRICS_PORT,
      readinessPath: '/readyz',
      env: [podName, ...serviceSecrets(p, 'router')],
      scaling: { kind: 'lag', group: ROUTER_GROUP, topic: defaultLagTopic('router') },
      replicas: p.router.replicas,
      resources: p.router.resources,
      terminationGracePeriodSeconds: p.router.terminationGracePeriodSeconds,
      preStopSleepSeconds: 0,
      serviceAccount: false,
    },
    ...p.connectors.channels.map(
      (channel): Workload => ({
        component: `connector-${channel}`,
        key: 'connectors',
        command: ['node', ENTRYPOINTS.connector],
        port: 8090,
        metricsPort: METRICS_PORT,
        readinessPath: '/readyz',
        env: [podName, { name: 'CONNECTOR_CHANNELS', value: channel }, ...serviceSecrets(p, { connector: channel })],
        scaling: { kind: 'lag', group: connectorGroup(channel), topic: defaultLagTopic(`connector-${channel}`) },
        replicas: p.connectors.replicas,
        resources: p.connectors.resources,
        terminationGracePeriodSeconds: p.connectors.terminationGracePeriodSeconds,
        preStopSleepSeconds: 0,
        serviceAccount: false,
      }),
    ),
  ];
  if (p.providerSim.enabled) {
    out.push({
      component: 'provider-sim',
      key: 'providerSim',
      command: ['node', ENTRYPOINTS['provider-sim']],
      port: 9300,
      metricsPort: null,
      readinessPath: '/healthz', // the simulator has no dependencies to wait for
      env: [
        secretEnv('SIM_APP_SECRET', p.secrets.metaAppSecret),
        secretEnv('SIM_ACCESS_TOKEN', p.secrets.whatsappToken),
        { name: 'SIM_LOG_LEVEL', value: p.logLevel },
        ...p.connectors.channels.map((c) => ({
          name: `SIM_WEBHOOK_${c.toUpperCase()}_URL`,
          value: `http://${p.name}-connector-${c}:8090/webhooks/${c}`,
        })),
      ],
      scaling: { kind: 'fixed' },
      replicas: 1, // its fault state lives in memory: one instance
      resources: p.providerSim.resources,
      terminationGracePeriodSeconds: 10,
      preStopSleepSeconds: 0,
      serviceAccount: false,
    });
  }
  if (p.operator.enabled) {
    out.push({
      component: 'operator',
      key: 'operator',
      command: ['node', ENTRYPOINTS.operator],
      port: 8092,
      metricsPort: null,
      readinessPath: '/readyz',
      env: [podName, { name: 'WATCH_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
      scaling: { kind: 'fixed' },
      replicas: p.operator.replicas,
      resources: p.operator.resources,
      terminationGracePeriodSeconds: 30,
      preStopSleepSeconds: 0,
      serviceAccount: true,
    });
  }
  return out;
}

/** The Job that creates the Cassandra schema before the workloads start: what it runs and with which settings. */
export interface SchemaJob {
  /** `app.kubernetes.io/component` and the object name suffix. */
  component: 'cassandra-schema';
  command: string[];
  env: EnvVar[];
  resources: Resources;
}

/** The ConfigMap settings the schema Job is given too (inline): the Cassandra ones and the process basics. */
const SCHEMA_JOB_SETTINGS = ['LOG_LEVEL', 'NODE_ENV', 'DATA_DIR', 'STORE_DRIVER', 'CASSANDRA_CONTACT_POINTS', 'CASSANDRA_LOCAL_DATA_CENTER', 'CASSANDRA_KEYSPACE', 'CASSANDRA_REPLICATION'] as const;

/**
 * The schema Job, with the Cassandra driver and `store.cassandra.schemaJob.enabled`; else null.
 * Its settings are inline, not from the ConfigMap: as a Helm pre-install hook it runs before the
 * release's ConfigMap exists. It gets the Cassandra credentials and no other secret.
 */
export function cassandraSchemaJob(p: Chat4AllProps): SchemaJob | null {
  if (p.store.driver !== 'cassandra' || !p.store.cassandra.schemaJob.enabled) return null;
  const shared = sharedConfig(p);
  return {
    component: 'cassandra-schema',
    command: ['node', ENTRYPOINTS['cassandra-schema']],
    env: [
      podName,
      ...SCHEMA_JOB_SETTINGS.map((name) => ({ name, value: shared[name]! })),
      { name: 'CASSANDRA_SCHEMA', value: 'create' },
      secretEnv('CASSANDRA_USERNAME', p.secrets.cassandraUsername),
      secretEnv('CASSANDRA_PASSWORD', p.secrets.cassandraPassword),
    ],
    resources: p.store.cassandra.schemaJob.resources,
  };
}

/** Non-secret settings shared by every service, as the ConfigMap holds them. */
export function sharedConfig(p: Chat4AllProps): Record<string, string> {
  const sim = `http://${p.name}-provider-sim:9300`;
  return {
    CHAT4ALL_PROFILE: p.profile,
    LOG_LEVEL: p.logLevel,
    NODE_ENV: 'production',
    DATA_DIR: '/tmp/chat4all',
    BUS_DRIVER: 'kafka',
    KAFKA_BROKERS: p.kafka.bootstrapServers,
    KAFKA_PARTITIONS: String(p.kafka.partitions),
    STORE_DRIVER: p.store.driver,
    CASSANDRA_CONTACT_POINTS: p.store.cassandra.contactPoints,
    CASSANDRA_LOCAL_DATA_CENTER: p.store.cassandra.localDataCenter,
    CASSANDRA_KEYSPACE: p.store.cassandra.keyspace,
    CASSANDRA_REPLICATION: p.store.cassandra.replication,
    // Pods that start together must not all create tables (CASSANDRA-10699): they wait for the
    // schema the cassandra-schema Job creates (or someone else did, with the Job turned off).
    ...(p.store.driver === 'cassandra' ? { CASSANDRA_SCHEMA: 'wait' } : {}),
    S3_ENDPOINT: p.objectStore.endpoint,
    S3_BUCKET: p.objectStore.bucket,
    S3_REGION: p.objectStore.region,
    S3_PUBLIC_ENDPOINT: p.objectStore.publicEndpoint,
    GATEWAY_PUBLIC_URL: p.gateway.publicUrl || `ws://${p.name}-gateway:8081/v1/stream`,
    WHATSAPP_API_BASE: p.providerSim.enabled ? sim : p.connectors.whatsappApiBase,
    INSTAGRAM_API_BASE: p.providerSim.enabled ? sim : p.connectors.instagramApiBase,
    // In a pod every server binds all interfaces; the defaults (127.0.0.1) are for one machine.
    API_HOST: '0.0.0.0',
    API_PORT: '8080',
    GATEWAY_HOST: '0.0.0.0',
    GATEWAY_PORT: '8081',
    ROUTER_HOST: '0.0.0.0',
    ROUTER_PORT: '8091',
    CONNECTORS_HOST: '0.0.0.0',
    CONNECTORS_PORT: '8090',
    METRICS_PORT: String(METRICS_PORT),
    SIM_HOST: '0.0.0.0',
    SIM_PORT: '9300',
    OPERATOR_HOST: '0.0.0.0',
    OPERATOR_PORT: '8092',
  };
}

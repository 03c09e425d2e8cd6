import { z } from 'zod';
import { deliveryTopic, TOPICS } from '../services/core/topics.ts';
import type { ExternalChannel } from '../services/core/domain/types.ts';

/*
 * The settings of one Chat4All installation. The same schema validates the cdk8s props and, as
 * `charts/chat4all/values.schema.json`, the Helm values: the values file has exactly these keys.
 */

const dns1123 = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower case, digits, -)').max(40);
const quantity = z.union([z.string().min(1), z.number()]);

const resources = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string) =>
  z
    .strictObject({
      requests: z.strictObject({ cpu: quantity.default(cpu), memory: quantity.default(memory) }).prefault({}),
      limits: z.strictObject({ cpu: quantity.default(cpuLimit), memory: quantity.default(memoryLimit) }).prefault({}),
    })
    .prefault({})
    .describe('Container resource requests and limits.');

/** A key of a Secret: credentials are referenced, never written into values or manifests. */
const secretRef = (name: string, key: string, optional = false) =>
  z
    .strictObject({
      name: dns1123.or(z.string().regex(/^[a-z0-9.-]+$/)).default(name).describe('Secret name'),
      key: z.string().min(1).default(key).describe('key inside the Secret'),
      optional: z.boolean().default(optional).describe('start even when the key is missing'),
    })
    .prefault({});

/** Grace a workload gets after SIGTERM: run-service.ts allows itself 20 s to finish, commit and leave its group. */
const SERVICE_STOP_BOUND_S = 20;
/** An HPA on CPU (the API and the push gateways scale with requests and connections, not lag). */
const cpuAutoscaling = () =>
  z
    .strictObject({
      minReplicas: z.number().int().min(1).default(2),
      maxReplicas: z.number().int().min(1).default(10),
      targetCPUUtilizationPercentage: z.number().int().min(1).max(100).default(70),
    })
    .prefault({});

const grace = (def: number) => z.number().int().min(1).max(3600).default(def).describe('terminationGracePeriodSeconds');

const lagAutoscaling = (min: number, max: number, lag: number) =>
  z
    .strictObject({
      minReplicas: z.number().int().min(0).default(min).describe('0 only in keda mode and only with a topic'),
      maxReplicas: z.number().int().min(1).default(max).describe('at most kafka.partitions: extra consumers sit idle'),
      lagThreshold: z.number().int().min(1).default(lag).describe('target lag per replica (HPA AverageValue, KEDA lagThreshold)'),
      activationLagThreshold: z.number().int().min(0).default(0).describe('KEDA: lag above which it scales from zero'),
      lagOnTopic: z.boolean().default(true).describe("measure the lag on the workload's own topic; false: every topic of the group (then it may not scale to zero)"),
    })
    .prefault({});

export const chat4allPropsFields = z.strictObject({
  /** Name prefix of every object and value of `app.kubernetes.io/instance`. Helm: the release name. @default chat4all */
  name: dns1123.default('chat4all'),
  /** Namespace of every namespaced object. Helm: the release namespace. @default chat4all */
  namespace: dns1123.default('chat4all'),
  image: z
    .strictObject({
      repository: z.string().min(1).default('ghcr.io/chat4all/chat4all'),
      tag: z.string().min(1).default('0.1.0'),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      pullSecrets: z.array(z.string()).default([]).describe('names of image pull Secrets'),
    })
    .prefault({}),
  /**
   * `production` refuses to start without real secrets. `dev` is refused here: its built-in
   * secrets are published, so anyone could mint tokens for a cluster running it. @default production
   */
  profile: z.enum(['production', 'dev']).default('production').describe('CHAT4ALL_PROFILE: only production (dev is refused: its built-in secrets are published)'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('LOG_LEVEL'),
  kafka: z
    .strictObject({
      bootstrapServers: z.string().min(1).default('chat4all-kafka-bootstrap.kafka:9092').describe('KAFKA_BROKERS'),
      partitions: z.number().int().min(1).max(1024).default(12).describe('KAFKA_PARTITIONS: partitions of the message and delivery topics'),
    })
    .prefault({}),
  store: z
    .strictObject({
      driver: z.enum(['cassandra', 'sqlite', 'memory']).default('cassandra').describe('STORE_DRIVER'),
      cassandra: z
        .strictObject({
          contactPoints: z.string().default('cassandra.cassandra:9042').describe('CASSANDRA_CONTACT_POINTS'),
          localDataCenter: z.string().default('datacenter1').describe('CASSANDRA_LOCAL_DATA_CENTER'),
          keyspace: z.string().default('chat4all').describe('CASSANDRA_KEYSPACE'),
          replication: z
            .string()
            .regex(/^(SimpleStrategy:\d+|[\w.-]+:\d+(,[\w.-]+:\d+)*)$/, 'SimpleStrategy:<n> or <datacenter>:<n>[,<datacenter>:<n>…]')
            .default('SimpleStrategy:1')
            .describe('CASSANDRA_REPLICATION: how the schema Job creates the keyspace when it is missing (e.g. datacenter1:3 for NetworkTopologyStrategy); an existing keyspace is left as it is'),
          schemaJob: z
            .strictObject({
              enabled: z
                .boolean()
                .default(true)
                .describe('the <name>-cassandra-schema Job (a pre-install/pre-upgrade hook) creates the keyspace and tables; the workloads only wait for them (CASSANDRA_SCHEMA=wait). Turn off only when the schema is created another way'),
              resources: resources('50m', '128Mi', '500m', '256Mi'),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  objectStore: z
    .strictObject({
      endpoint: z.string().default('http://minio.minio:9000').describe('S3_ENDPOINT'),
      publicEndpoint: z.string().default('').describe('S3_PUBLIC_ENDPOINT: the host presigned URLs carry, as clients outside the cluster reach the store (empty: endpoint)'),
      bucket: z.string().default('chat4all-files').describe('S3_BUCKET'),
      region: z.string().default('us-east-1').describe('S3_REGION'),
    })
    .prefault({}),
  /** Where each credential comes from. Every one is a `secretKeyRef`. */
  secrets: z
    .strictObject({
      jwtSecret: secretRef('chat4all-secrets', 'jwt-secret').describe('JWT_SECRET'),
      metaAppSecret: secretRef('chat4all-secrets', 'meta-app-secret').describe('META_APP_SECRET'),
      webhookVerifyToken: secretRef('chat4all-secrets', 'webhook-verify-token').describe('WEBHOOK_VERIFY_TOKEN'),
      whatsappToken: secretRef('chat4all-secrets', 'whatsapp-token').describe('WHATSAPP_TOKEN'),
      instagramToken: secretRef('chat4all-secrets', 'instagram-token').describe('INSTAGRAM_TOKEN'),
      authClients: secretRef('chat4all-secrets', 'auth-clients', true).describe('AUTH_CLIENTS'),
      objectStoreAccessKey: secretRef('chat4all-object-store', 'access-key', true).describe('S3_ACCESS_KEY_ID'),
      objectStoreSecretKey: secretRef('chat4all-object-store', 'secret-key', true).describe('S3_SECRET_ACCESS_KEY'),
      cassandraUsername: secretRef('chat4all-cassandra', 'username', true).describe('CASSANDRA_USERNAME'),
      cassandraPassword: secretRef('chat4all-cassandra', 'password', true).describe('CASSANDRA_PASSWORD'),
      adminBootstrapToken: secretRef('chat4all-secrets', 'admin-bootstrap-token', true).describe('ADMIN_BOOTSTRAP_TOKEN (API only; optional: set the key to make the first admin, then remove it)'),
    })
    .prefault({}),
  api: z
    .strictObject({
      replicas: z.number().int().min(1).default(2).describe('replicas when autoscaling.mode is none'),
      resources: resources('100m', '256Mi', '1', '512Mi'),
      terminationGracePeriodSeconds: grace(30),
      autoscaling: cpuAutoscaling(),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      replicas: z.number().int().min(1).default(2).describe('push gateway replicas when autoscaling.mode is none'),
      publicUrl: z
        .string()
        .regex(/^(wss?:\/\/.+)?$/, 'must be a ws:// or wss:// URL, or empty')
        .default('')
        .describe('GATEWAY_PUBLIC_URL: the WebSocket URL browsers reach the push gateway at, which the web client (/app) connects to (empty: the in-cluster Service URL)'),
      resources: resources('100m', '256Mi', '1', '512Mi'),
      terminationGracePeriodSeconds: grace(30),
      autoscaling: cpuAutoscaling(),
    })
    .prefault({}),
  router: z
    .strictObject({
      replicas: z.number().int().min(1).default(2),
      resources: resources('100m', '256Mi', '1', '512Mi'),
      terminationGracePeriodSeconds: grace(45),
      autoscaling: lagAutoscaling(1, 12, 100),
    })
    .prefault({}),
  connectors: z
    .strictObject({
      channels: z.array(z.enum(['whatsapp', 'instagram'])).min(1).default(['whatsapp', 'instagram']).describe('one Deployment per channel'),
      replicas: z.number().int().min(1).default(1),
      resources: resources('100m', '192Mi', '1', '384Mi'),
      terminationGracePeriodSeconds: grace(45),
      autoscaling: lagAutoscaling(1, 12, 50),
      whatsappApiBase: z.string().default('https://graph.facebook.com').describe('WHATSAPP_API_BASE (ignored when providerSim.enabled)'),
      instagramApiBase: z.string().default('https://graph.instagram.com').describe('INSTAGRAM_API_BASE (ignored when providerSim.enabled)'),
    })
    .prefault({}),
  providerSim: z
    .strictObject({
      enabled: z.boolean().default(false).describe('run the provider simulator (demos, experiments) and point the connectors at it'),
      resources: resources('50m', '128Mi', '500m', '256Mi'),
    })
    .prefault({}),
  operator: z
    .strictObject({
      enabled: z.boolean().default(true).describe('run the experiment operator (node dist/operator/main.js)'),
      replicas: z.number().int().min(1).max(3).default(1).describe('more than one: leader election through a Lease'),
      resources: resources('50m', '128Mi', '500m', '256Mi'),
    })
    .prefault({}),
  autoscaling: z
    .strictObject({
      mode: z.enum(['hpa', 'keda', 'none']).default('hpa'),
      lagMetricName: z.string().default('chat4all_consumergroup_lag').describe('External metric served by prometheus-adapter'),
      scaleDownStabilizationSeconds: z.number().int().min(0).max(3600).default(300),
      kedaPollingInterval: z.number().int().min(1).default(15),
      kedaCooldownPeriod: z.number().int().min(0).default(300),
    })
    .prefault({}),
  monitoring: z
    .strictObject({
      enabled: z.boolean().default(true).describe('ServiceMonitor, PrometheusRule and dashboards (needs the prometheus-operator CRDs)'),
      release: z.string().min(1).default('kube-prometheus-stack').describe('`release` label the Prometheus of kube-prometheus-stack selects'),
      namespace: z.string().default('monitoring').describe('namespace of Prometheus (NetworkPolicy ingress to /metrics)'),
      scrapeInterval: z.string().default('30s'),
      dashboardsNamespace: z.string().default('').describe('namespace of the dashboard ConfigMaps (empty: the release namespace)'),
    })
    .prefault({}),
  networkPolicy: z
    .strictObject({
      enabled: z.boolean().default(true),
      kafkaPorts: z.array(z.number().int()).default([9092]),
      cassandraPorts: z.array(z.number().int()).default([9042]),
      objectStorePorts: z.array(z.number().int()).default([9000, 443]),
      kubeApiPorts: z.array(z.number().int()).default([443, 6443]),
      providerPorts: z.array(z.number().int()).default([443]).describe('egress of the connectors to the providers'),
      webhookPorts: z.array(z.number().int()).default([443, 80]).describe("egress of the routers to clients' webhook URLs"),
      platformCidrs: z
        .array(z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'a CIDR, e.g. 10.20.0.0/16'))
        .default([])
        .describe('private address ranges of the platform services outside the cluster (a managed Kafka, Cassandra or object store): egress to their ports is allowed there too. Every other private and link-local range is refused'),
    })
    .prefault({}),
  podDisruptionBudget: z.strictObject({ enabled: z.boolean().default(true), maxUnavailable: z.number().int().min(1).default(1) }).prefault({}),
  topologySpread: z
    .strictObject({
      enabled: z.boolean().default(true),
      whenUnsatisfiable: z.enum(['ScheduleAnyway', 'DoNotSchedule']).default('ScheduleAnyway'),
    })
    .prefault({}),
});

export type Chat4AllPropsInput = z.input<typeof chat4allPropsFields>;
export type Chat4AllProps = z.output<typeof chat4allPropsFields>;

/** The topic a workload's lag is measured on when its `autoscaling.topic` is not set. */
export const defaultLagTopic = (workload: 'router' | `connector-${ExternalChannel}`) =>
  workload === 'router' ? TOPICS.accepted : deliveryTopic(workload.slice('connector-'.length) as ExternalChannel);

/** Seconds the API waits in preStop so that endpoints drop it before it stops accepting. */
export const API_PRESTOP_SECONDS = 5;

/** Cross-field rules: the traps KEDA and the HPA only document, refused here. */
/** Why a cluster never runs the dev profile (the same message as the chart's `fail`). */
export const DEV_PROFILE_REFUSED =
  'profile is dev, whose built-in secrets (JWT, client credentials, Meta app secret, tokens) are published, so anyone could mint an admin token: set profile: production and create the Secrets named under secrets (docs/kubernetes.md); for a local trial use make up';

export const chat4allPropsSchema = chat4allPropsFields.superRefine((p, ctx) => {
  if (p.profile === 'dev') ctx.addIssue({ code: 'custom', path: ['profile'], message: DEV_PROFILE_REFUSED });
  const mode = p.autoscaling.mode;
  const lagScaled = [
    { key: 'router', topic: defaultLagTopic('router'), a: p.router.autoscaling, replicas: p.router.replicas },
    { key: 'connectors', topic: p.connectors.channels.map((c) => defaultLagTopic(`connector-${c}`)).join(', '), a: p.connectors.autoscaling, replicas: p.connectors.replicas },
  ];
  for (const w of lagScaled) {
    const topic = w.topic;
    if (mode === 'none' && w.replicas > p.kafka.partitions) {
      ctx.addIssue({ code: 'custom', path: [w.key, 'replicas'], message: `${w.key}.replicas (${w.replicas}) exceeds the partitions of topic ${topic} (${p.kafka.partitions}): extra consumers would sit idle; raise kafka.partitions or lower ${w.key}.replicas` });
    }
    if (mode === 'none') continue;
    if (w.a.maxReplicas > p.kafka.partitions) {
      ctx.addIssue({ code: 'custom', path: [w.key, 'autoscaling', 'maxReplicas'], message: `${w.key}.autoscaling.maxReplicas (${w.a.maxReplicas}) exceeds the partitions of topic ${topic} (${p.kafka.partitions}): extra consumers would sit idle; raise kafka.partitions or lower ${w.key}.autoscaling.maxReplicas` });
    }
    if (w.a.minReplicas > w.a.maxReplicas) {
      ctx.addIssue({ code: 'custom', path: [w.key, 'autoscaling', 'minReplicas'], message: `${w.key}.autoscaling.minReplicas (${w.a.minReplicas}) exceeds maxReplicas (${w.a.maxReplicas})` });
    }
    if (w.a.minReplicas === 0 && mode === 'hpa') {
      ctx.addIssue({ code: 'custom', path: [w.key, 'autoscaling', 'minReplicas'], message: `${w.key}.autoscaling.minReplicas is 0 but an HPA cannot scale to zero (alpha feature HPAScaleToZero): use autoscaling.mode keda or minReplicas 1` });
    }
    if (w.a.minReplicas === 0 && !w.a.lagOnTopic) {
      ctx.addIssue({ code: 'custom', path: [w.key, 'autoscaling', 'lagOnTopic'], message: `${w.key}.autoscaling.minReplicas is 0 but the lag is not measured on a topic (lagOnTopic false): a group with no committed offsets has no known topics, so its lag reads 0 and the workload would never scale up from zero; set ${w.key}.autoscaling.lagOnTopic true or minReplicas 1` });
    }
  }
  if (mode !== 'none' && p.api.autoscaling.minReplicas > p.api.autoscaling.maxReplicas) {
    ctx.addIssue({ code: 'custom', path: ['api', 'autoscaling', 'minReplicas'], message: `api.autoscaling.minReplicas (${p.api.autoscaling.minReplicas}) exceeds maxReplicas (${p.api.autoscaling.maxReplicas})` });
  }
  if (mode !== 'none' && p.gateway.autoscaling.minReplicas > p.gateway.autoscaling.maxReplicas) {
    ctx.addIssue({ code: 'custom', path: ['gateway', 'autoscaling', 'minReplicas'], message: `gateway.autoscaling.minReplicas (${p.gateway.autoscaling.minReplicas}) exceeds maxReplicas (${p.gateway.autoscaling.maxReplicas})` });
  }
  for (const key of ['api', 'gateway', 'router', 'connectors'] as const) {
    const g = p[key].terminationGracePeriodSeconds;
    const paused = key === 'api' || key === 'gateway';
    const need = SERVICE_STOP_BOUND_S + (paused ? API_PRESTOP_SECONDS : 0) + 5;
    if (g < need) {
      ctx.addIssue({ code: 'custom', path: [key, 'terminationGracePeriodSeconds'], message: `${key}.terminationGracePeriodSeconds (${g}) is shorter than ${need} s: the service allows itself ${SERVICE_STOP_BOUND_S} s to finish, commit and leave its group${paused ? ` after a ${API_PRESTOP_SECONDS} s preStop pause` : ''}; raise it to at least ${need}` });
    }
  }
});

/** Thrown with every problem of the props at once. */
export class Chat4AllPropsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Chat4All settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'Chat4AllPropsError';
  }
}

/** Validates and completes the props; throws `Chat4AllPropsError` naming every problem. */
export function parseChat4AllProps(input: unknown): Chat4AllProps {
  const r = chat4allPropsSchema.safeParse(input ?? {});
  if (!r.success) throw new Chat4AllPropsError(r.error.issues.map((i) => (i.code === 'custom' ? i.message : `${i.path.join('.')}: ${i.message}`)));
  return r.data;
}

/** JSON Schema of the Helm values (props without `namespace`, which is the release namespace). */
export function valuesJsonSchema(): object {
  const values = chat4allPropsFields.omit({ namespace: true, name: true }).extend({
    name: z.string().default('').describe('name prefix of every object (empty: the release name)'),
  });
  const schema = z.toJSONSchema(values, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'Chat4All chart values (generated from cdk8s/chart-props.ts: do not edit)' };
}

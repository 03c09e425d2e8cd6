import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../services/core/config.ts';

/** Where Kubernetes mounts the service account's namespace in a pod. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const int = (def: number, min: number, max: number, env: string) => z.coerce.number().int().min(min).max(max).default(def).describe(env);

/** Every setting of the operator, read from the environment (the chart sets the ConfigMap's and `WATCH_NAMESPACE`). */
export const operatorConfigFields = z.object({
  /** The namespace whose Experiments the operator runs, and where the platform runs. From `WATCH_NAMESPACE`, else `POD_NAMESPACE`, else the service account's namespace file. */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name').describe('WATCH_NAMESPACE'),
  /** The chart's release name (`app.kubernetes.io/instance`); empty: read from the operator's own pod labels, else `chat4all`. @default "" */
  instance: z.string().default('').describe('CHAT4ALL_INSTANCE'),
  /** Who this replica is in the Lease: the pod's name. @default SERVICE_NAME (the chart sets the pod name there), else the host name */
  identity: z.string().min(1).describe('OPERATOR_IDENTITY'),
  /** Address the health and metrics server binds. @default 127.0.0.1 */
  host: z.string().default('127.0.0.1').describe('OPERATOR_HOST'),
  /** @default 8092 */
  port: int(8092, 0, 65535, 'OPERATOR_PORT'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('LOG_LEVEL'),
  /** Where evidence goes (one folder per run, and `index.html`). @default `$DATA_DIR/experiments` (`/tmp/chat4all/experiments` in the chart) */
  evidenceDir: z.string().min(1).describe('EVIDENCE_DIR'),
  /** The API's URL the experiment load goes to. @default http://<instance>-api:8080 */
  apiUrl: z.url().optional().describe('TARGET_API_URL'),
  /** The provider simulator's URL (faults, deliveries). @default http://<instance>-provider-sim:9300 */
  simUrl: z.url().optional().describe('TARGET_SIM_URL'),
  /** Partitions of the accepted-messages topic. @default 12 */
  partitions: int(12, 1, 1024, 'KAFKA_PARTITIONS'),
  /** The Lease for leader election. @default <instance>-operator */
  leaseName: z.string().default('').describe('LEASE_NAME'),
  /** A leader that has not renewed for this long is replaced. @default 15 */
  leaseDurationSeconds: int(15, 2, 300, 'LEASE_DURATION_SECONDS'),
  /** How often the leader renews and a standby tries to take over. @default 2000 */
  leaseRetryMs: int(2000, 50, 60_000, 'LEASE_RETRY_MS'),
  /** A full list of the Experiments this often, besides the watch. @default 30000 */
  resyncMs: int(30_000, 100, 3_600_000, 'RESYNC_MS'),
  /** Bound on a killed pod disappearing. @default 60000 */
  killTimeoutMs: int(60_000, 100, 600_000, 'KILL_TIMEOUT_MS'),
  /** Bound on a Deployment reaching its replicas. @default 120000 */
  scaleTimeoutMs: int(120_000, 100, 1_800_000, 'SCALE_TIMEOUT_MS'),
  /** Bound on getting the routers ready before the load. @default 45000 */
  readyTimeoutMs: int(45_000, 100, 600_000, 'READY_TIMEOUT_MS'),
});

export type OperatorConfig = z.output<typeof operatorConfigFields> & { apiUrl: string; simUrl: string };

const operatorConfigSchema = operatorConfigFields.superRefine((c, ctx) => {
  if (c.leaseRetryMs * 2 > c.leaseDurationSeconds * 1000) {
    ctx.addIssue({
      code: 'custom',
      path: ['leaseRetryMs'],
      message: `LEASE_RETRY_MS (${c.leaseRetryMs}) must be at most half of LEASE_DURATION_SECONDS (${c.leaseDurationSeconds} s), or the leader loses its Lease between renewals: lower LEASE_RETRY_MS or raise LEASE_DURATION_SECONDS`,
    });
  }
});

/**
 * Reads the operator's settings; reports every problem at once (`ConfigError`). The namespace
 * falls back to `POD_NAMESPACE` and then to the service account's namespace file.
 */
export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env, namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE): OperatorConfig {
  const names: Record<string, string> = {};
  for (const [key, schema] of Object.entries(operatorConfigFields.shape as Record<string, z.ZodType>)) if (schema.description) names[key] = schema.description;
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(names)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  raw.namespace ??= env.POD_NAMESPACE || (existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined);
  raw.identity ??= env.SERVICE_NAME || env.POD_NAME || hostname();
  raw.evidenceDir ??= join(env.DATA_DIR || '.data', 'experiments');
  const r = operatorConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => {
        const key = String(i.path[0] ?? '');
        if (key === 'namespace' && raw.namespace === undefined) return `WATCH_NAMESPACE: no namespace: set WATCH_NAMESPACE or POD_NAMESPACE (in a pod, ${namespaceFile} is read)`;
        return `${names[key] ?? key}: ${i.message}`;
      }),
    );
  }
  return withInstance({ ...r.data, apiUrl: r.data.apiUrl ?? '', simUrl: r.data.simUrl ?? '' }, r.data.instance);
}

/** Fills what depends on the release name (Service URLs, the Lease) once it is known. */
export function withInstance(c: OperatorConfig, instance: string): OperatorConfig {
  if (!instance) return c;
  return {
    ...c,
    instance,
    apiUrl: c.apiUrl || `http://${instance}-api:8080`,
    simUrl: c.simUrl || `http://${instance}-provider-sim:9300`,
    leaseName: c.leaseName || `${instance}-operator`,
  };
}

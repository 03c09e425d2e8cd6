import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import type { z } from 'zod';
import { parseChat4AllProps, type Chat4AllProps, type Chat4AllPropsInput } from './chart-props.ts';
import { experimentCrd, EXPERIMENT_GROUP, EXPERIMENT_PLURAL } from './experiment-crd.ts';
import type { DashboardFile, RuleGroup } from './observability-files.ts';
import { cassandraSchemaJob, sharedConfig, workloads, type SchemaJob, type Workload } from './workloads.ts';

export interface Chat4AllChartOptions extends ChartProps {
  /** The settings; validated (every problem at once) before anything is built. */
  settings?: Chat4AllPropsInput;
  /** The experiment engine's zod schema of an Experiment's spec. */
  experimentSpecSchema: z.ZodType;
  /** Grafana dashboards to ship as ConfigMaps (read from observability/dashboards). */
  dashboards?: DashboardFile[];
  /** Prometheus rule groups (read from observability/alerts), added to the built-in group. */
  ruleGroups?: RuleGroup[];
}

/** Labels shared by every object of one installation. */
export function commonLabels(p: Chat4AllProps): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'chat4all',
    'app.kubernetes.io/instance': p.name,
    'app.kubernetes.io/part-of': 'chat4all',
    'app.kubernetes.io/version': p.image.tag,
  };
}

/** Labels that select one workload's pods (never change them on upgrade: selectors are immutable). */
export function selectorLabels(p: Chat4AllProps, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'chat4all', 'app.kubernetes.io/instance': p.name, 'app.kubernetes.io/component': component };
}

/** Alerts about the packaging itself; the platform's own alerts come from observability/alerts. */
export function builtinRuleGroup(p: Chat4AllProps): RuleGroup {
  return {
    name: 'chat4all-kubernetes',
    rules: [
      {
        alert: 'Chat4AllLagMetricMissing',
        expr: `absent(kafka_consumergroup_lag{namespace="${p.namespace}"})`,
        for: '15m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'No consumer-group lag is scraped from the Chat4All namespace',
          description: 'Lag-based autoscaling is blind: check the ServiceMonitor release label and that routers and connectors are up (docs/kubernetes.md, troubleshooting).',
        },
      },
      {
        alert: 'Chat4AllAutoscalerAtMaximum',
        expr: `kube_horizontalpodautoscaler_status_current_replicas{namespace="${p.namespace}",horizontalpodautoscaler=~".*${p.name}-.*"} >= on(namespace, horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas`,
        for: '15m',
        labels: { severity: 'warning' },
        annotations: {
          summary: '{{ $labels.horizontalpodautoscaler }} has run at its maximum replicas for 15 minutes',
          description: 'Consumers are capped by the partitions of their topic: raise kafka.partitions (and maxReplicas) to add capacity.',
        },
      },
    ],
  };
}

/**
 * Helm hook annotations of the schema Job and of its NetworkPolicy. As hooks they exist before the
 * release's objects (pre-install) or before the new ones are applied (pre-upgrade), so the Job has
 * created the new tables before any workload of the new version starts. Helm deletes both once
 * every hook of the phase has succeeded. kubectl apply ignores these annotations.
 */
export function schemaHookAnnotations(weight: number): Record<string, string> {
  return {
    'helm.sh/hook': 'pre-install,pre-upgrade',
    'helm.sh/hook-weight': String(weight),
    'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
  };
}

/**
 * Chat4All on Kubernetes: the API, routers, one connector Deployment per channel, the optional
 * provider simulator and the experiment operator, with their Services, probes, disruption
 * budgets, NetworkPolicies, autoscaling on Kafka lag (HPA or KEDA), monitoring objects for
 * kube-prometheus-stack and the Experiment CRD. `charts/chat4all` renders the same objects.
 */
export class Chat4AllChart extends Chart {
  readonly settings: Chat4AllProps;

  constructor(scope: Construct, id: string, options: Chat4AllChartOptions) {
    super(scope, id, { ...options, disableResourceNameHashes: true });
    const p = parseChat4AllProps(options.settings ?? {});
    this.settings = p;
    const ns = p.namespace;
    const labels = { ...commonLabels(p), 'app.kubernetes.io/managed-by': 'cdk8s' };
    const meta = (name: string, component?: string) => ({
      name,
      namespace: ns,
      labels: component ? { ...labels, 'app.kubernetes.io/component': component } : labels,
    });
    const instance = { 'app.kubernetes.io/name': 'chat4all', 'app.kubernetes.io/instance': p.name };

    new ApiObject(this, 'experiment-crd', experimentCrd(options.experimentSpecSchema) as never);

    new k8s.KubeConfigMap(this, 'config', { metadata: meta(`${p.name}-config`), data: sharedConfig(p) });

    const ws = workloads(p);
    for (const w of ws) this.workload(p, w, meta(`${p.name}-${w.component}`, w.component));

    if (p.operator.enabled) this.operatorRbac(p, meta(`${p.name}-operator`, 'operator'));

    const schemaJob = cassandraSchemaJob(p);
    if (schemaJob) this.schemaJob(p, schemaJob, meta(`${p.name}-${schemaJob.component}`, schemaJob.component));

    if (p.networkPolicy.enabled) {
      new k8s.KubeNetworkPolicy(this, 'default-deny', {
        metadata: meta(`${p.name}-default-deny`),
        spec: { podSelector: { matchLabels: instance }, policyTypes: ['Ingress', 'Egress'] },
      });
      for (const w of ws) this.networkPolicy(p, w, meta(`${p.name}-${w.component}`, w.component), instance);
      if (schemaJob) this.schemaJobNetworkPolicy(p, schemaJob, meta(`${p.name}-${schemaJob.component}`, schemaJob.component));
    }

    if (p.monitoring.enabled) {
      const monLabels = { ...labels, release: p.monitoring.release };
      new ApiObject(this, 'service-monitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: p.name, namespace: ns, labels: monLabels },
        spec: {
          selector: { matchLabels: { ...instance, [METRICS_SERVICE_LABEL]: 'true' } },
          endpoints: [{ port: 'metrics', path: '/metrics', interval: p.monitoring.scrapeInterval }],
        },
      });
      new ApiObject(this, 'prometheus-rule', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: `${p.name}-alerts`, namespace: ns, labels: monLabels },
        spec: { groups: [builtinRuleGroup(p), ...(options.ruleGroups ?? [])] },
      });
      for (const d of options.dashboards ?? []) {
        new k8s.KubeConfigMap(this, `dashboard-${d.name}`, {
          metadata: {
            name: `${p.name}-dashboard-${d.name}`,
            namespace: p.monitoring.dashboardsNamespace || ns,
            labels: { ...labels, grafana_dashboard: '1' },
            annotations: { grafana_folder: 'Chat4All' },
          },
          data: { [d.fileName]: d.json },
        });
      }
    }
  }

  private workload(p: Chat4AllProps, w: Workload, metadata: { name: string; namespace: string; labels: Record<string, string> }) {
    const selector = selectorLabels(p, w.component);
    const autoscaled = p.autoscaling.mode !== 'none' && w.scaling.kind !== 'fixed';
    const httpGet = (path: string) => ({ path, port: k8s.IntOrString.fromString('http') });
    new k8s.KubeDeployment(this, `${w.component}-deployment`, {
      metadata,
      spec: {
        // An autoscaled Deployment has no replicas: every apply would reset what the autoscaler chose.
        ...(autoscaled ? {} : { replicas: w.replicas }),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels: metadata.labels },
          spec: {
            ...(w.serviceAccount ? { serviceAccountName: metadata.name } : {}),
            automountServiceAccountToken: w.serviceAccount,
            terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            ...(p.image.pullSecrets.length ? { imagePullSecrets: p.image.pullSecrets.map((name) => ({ name })) } : {}),
            ...(p.topologySpread.enabled
              ? { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: p.topologySpread.whenUnsatisfiable, labelSelector: { matchLabels: selector } }] }
              : {}),
            containers: [
              {
                name: w.component,
                image: `${p.image.repository}:${p.image.tag}`,
                imagePullPolicy: p.image.pullPolicy,
                command: w.command,
                ports: [{ name: 'http', containerPort: w.port, protocol: 'TCP' }, ...(w.metricsPort ? [{ name: 'metrics', containerPort: w.metricsPort, protocol: 'TCP' }] : [])],
                envFrom: [{ configMapRef: { name: `${p.name}-config` } }],
                env: w.env as k8s.EnvVar[],
                resources: {
                  requests: { cpu: quantity(w.resources.requests.cpu), memory: quantity(w.resources.requests.memory) },
                  limits: { cpu: quantity(w.resources.limits.cpu), memory: quantity(w.resources.limits.memory) },
                },
                startupProbe: { httpGet: httpGet('/healthz'), periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 60 },
                livenessProbe: { httpGet: httpGet('/healthz'), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
                readinessProbe: { httpGet: httpGet(w.readinessPath), periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
                ...(w.preStopSleepSeconds > 0 ? { lifecycle: { preStop: { exec: { command: ['sleep', String(w.preStopSleepSeconds)] } } } } : {}),
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
          },
        },
      },
    });
    new k8s.KubeService(this, `${w.component}-service`, {
      metadata,
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: w.port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }] },
    });
    // What the ServiceMonitor scrapes: the metrics port, never through the workload's own Service.
    new k8s.KubeService(this, `${w.component}-metrics-service`, {
      metadata: { ...metadata, name: `${metadata.name}-metrics`, labels: { ...metadata.labels, [METRICS_SERVICE_LABEL]: 'true' } },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'metrics', port: w.metricsPort ?? w.port, targetPort: k8s.IntOrString.fromString(w.metricsPort ? 'metrics' : 'http'), protocol: 'TCP' }],
      },
    });
    if (p.podDisruptionBudget.enabled) {
      new k8s.KubePodDisruptionBudget(this, `${w.component}-pdb`, {
        metadata,
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(p.podDisruptionBudget.maxUnavailable), selector: { matchLabels: selector } },
      });
    }
    if (autoscaled) this.autoscaler(p, w, metadata);
  }

  /**
   * The one-off Job that creates the Cassandra keyspace and missing tables (the workloads only
   * wait for them). With Helm it is a pre-install/pre-upgrade hook, so it finishes before the
   * workloads start. Applied with kubectl (the cdk8s output, no hooks) it simply runs alongside
   * them, and they wait for it (CASSANDRA_SCHEMA_WAIT_MS). A Job's pod template cannot change:
   * with kubectl, delete the finished Job (or let ttlSecondsAfterFinished do it) before applying a
   * new image.
   */
  private schemaJob(p: Chat4AllProps, j: SchemaJob, metadata: { name: string; namespace: string; labels: Record<string, string> }) {
    new k8s.KubeJob(this, `${j.component}-job`, {
      metadata: { ...metadata, annotations: schemaHookAnnotations(0) },
      spec: {
        backoffLimit: 6,
        ttlSecondsAfterFinished: 600,
        template: {
          metadata: { labels: metadata.labels },
          spec: {
            restartPolicy: 'OnFailure',
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            ...(p.image.pullSecrets.length ? { imagePullSecrets: p.image.pullSecrets.map((name) => ({ name })) } : {}),
            containers: [
              {
                name: j.component,
                image: `${p.image.repository}:${p.image.tag}`,
                imagePullPolicy: p.image.pullPolicy,
                command: j.command,
                env: j.env as k8s.EnvVar[],
                resources: {
                  requests: { cpu: quantity(j.resources.requests.cpu), memory: quantity(j.resources.requests.memory) },
                  limits: { cpu: quantity(j.resources.limits.cpu), memory: quantity(j.resources.limits.memory) },
                },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
          },
        },
      },
    });
  }

  /**
   * The default-deny policy selects the Job's pod too: it may reach DNS and Cassandra, nothing
   * else, and nothing reaches it. A hook one step before the Job, so that on the first upgrade to a
   * chart with the Job, its pod is not blocked by the default-deny of the running release.
   */
  private schemaJobNetworkPolicy(p: Chat4AllProps, j: SchemaJob, metadata: { name: string; namespace: string; labels: Record<string, string> }) {
    const tcp = (ports: number[]) => ports.map((n) => ({ port: k8s.IntOrString.fromNumber(n), protocol: 'TCP' }));
    new k8s.KubeNetworkPolicy(this, `${j.component}-netpol`, {
      metadata: { ...metadata, annotations: schemaHookAnnotations(-1) },
      spec: {
        podSelector: { matchLabels: selectorLabels(p, j.component) },
        policyTypes: ['Ingress', 'Egress'], // no ingress rule: nothing may connect to it
        egress: [
          { to: [{ namespaceSelector: {} }], ports: [{ port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' }, { port: k8s.IntOrString.fromNumber(53), protocol: 'TCP' }] },
          { to: [{ namespaceSelector: {} }, ...p.networkPolicy.platformCidrs.map((cidr) => ({ ipBlock: { cidr } })), ...PUBLIC_ONLY], ports: tcp(p.networkPolicy.cassandraPorts) },
        ],
      },
    });
  }

  private autoscaler(p: Chat4AllProps, w: Workload, metadata: { name: string; namespace: string; labels: Record<string, string> }) {
    const a = p.autoscaling;
    const scaleDown = { stabilizationWindowSeconds: a.scaleDownStabilizationSeconds, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] };
    const cpu = w.key === 'gateway' ? p.gateway.autoscaling : p.api.autoscaling;
    const bounds = w.scaling.kind === 'cpu' ? cpu : w.key === 'router' ? p.router.autoscaling : p.connectors.autoscaling;
    if (a.mode === 'hpa') {
      const metrics =
        w.scaling.kind === 'cpu'
          ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu.targetCPUUtilizationPercentage } } }]
          : w.scaling.kind === 'lag'
            ? [
                {
                  type: 'External',
                  external: {
                    metric: { name: a.lagMetricName, selector: { matchLabels: { consumergroup: w.scaling.group, ...(lagOf(p, w).lagOnTopic ? { topic: w.scaling.topic } : {}) } } },
                    target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString(String(lagOf(p, w).lagThreshold)) },
                  },
                },
              ]
            : [];
      new k8s.KubeHorizontalPodAutoscalerV2(this, `${w.component}-hpa`, {
        metadata,
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: metadata.name },
          minReplicas: bounds.minReplicas,
          maxReplicas: bounds.maxReplicas,
          metrics,
          behavior: { scaleDown },
        },
      });
      return;
    }
    const trigger =
      w.scaling.kind === 'lag'
        ? {
            type: 'apache-kafka',
            metadata: {
              bootstrapServers: p.kafka.bootstrapServers,
              consumerGroup: w.scaling.group,
              ...(lagOf(p, w).lagOnTopic ? { topic: w.scaling.topic } : {}),
              lagThreshold: String(lagOf(p, w).lagThreshold),
              activationLagThreshold: String(lagOf(p, w).activationLagThreshold),
              // The services subscribe fromBeginning: a group without offsets starts at the earliest.
              offsetResetPolicy: 'earliest',
              allowIdleConsumers: 'false',
            },
          }
        : { type: 'cpu', metricType: 'Utilization', metadata: { value: String(cpu.targetCPUUtilizationPercentage) } };
    new ApiObject(this, `${w.component}-scaledobject`, {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata,
      spec: {
        scaleTargetRef: { name: metadata.name },
        pollingInterval: a.kedaPollingInterval,
        cooldownPeriod: a.kedaCooldownPeriod,
        minReplicaCount: bounds.minReplicas,
        maxReplicaCount: bounds.maxReplicas,
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown } } },
        triggers: [trigger],
      },
    });
  }

  private networkPolicy(p: Chat4AllProps, w: Workload, metadata: { name: string; namespace: string; labels: Record<string, string> }, instance: Record<string, string>) {
    const port = [{ port: k8s.IntOrString.fromNumber(w.port), protocol: 'TCP' }];
    const tcp = (ports: number[]) => ports.map((n) => ({ port: k8s.IntOrString.fromNumber(n), protocol: 'TCP' }));
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.monitoring.namespace } } };
    // Prometheus, and the operator, whose experiments read /metrics (lag, partitions owned, rates).
    const scrapers = [...(p.operator.enabled && w.key !== 'operator' ? [{ podSelector: { matchLabels: selectorLabels(p, 'operator') } }] : []), monitoring];
    const ingress = [
      ...(w.key === 'api' || w.key === 'gateway' || w.key === 'connectors'
        ? [{ ports: port }] // the public API, people's WebSockets and the providers' webhooks: from anywhere
        : w.key === 'providerSim'
          ? [{ from: [{ podSelector: { matchLabels: instance } }, monitoring], ports: port }]
          : w.key === 'router'
            ? [{ from: scrapers, ports: port }]
            : [{ from: [monitoring], ports: port }]),
      ...(w.metricsPort ? [{ from: scrapers, ports: [{ port: k8s.IntOrString.fromNumber(w.metricsPort), protocol: 'TCP' }] }] : []),
    ];
    const np = p.networkPolicy;
    const data = tcp([...np.kafkaPorts, ...np.cassandraPorts, ...np.objectStorePorts]);
    // The platform's own services: pods in the cluster, the ranges named for those outside it, or
    // a public endpoint (a managed service). Never another private or link-local address.
    const platform = [{ namespaceSelector: {} }, ...np.platformCidrs.map((cidr) => ({ ipBlock: { cidr } })), ...PUBLIC_ONLY];
    const egress = [
      { to: [{ namespaceSelector: {} }], ports: [{ port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' }, { port: k8s.IntOrString.fromNumber(53), protocol: 'TCP' }] },
      { to: [{ podSelector: { matchLabels: instance } }] },
      ...(w.key === 'api' || w.key === 'gateway' || w.key === 'router' || w.key === 'connectors' ? [{ to: platform, ports: data }] : []),
      ...(w.key === 'connectors' ? [{ to: PUBLIC_ONLY, ports: tcp(np.providerPorts) }] : []),
      ...(w.key === 'router' ? [{ to: PUBLIC_ONLY, ports: tcp(np.webhookPorts) }] : []), // clients' webhook URLs
      // The Kubernetes API server's address is private (and differs per cluster): by port only.
      ...(w.key === 'operator' ? [{ ports: tcp(np.kubeApiPorts) }, { to: platform, ports: tcp(np.kafkaPorts) }] : []),
    ];
    new k8s.KubeNetworkPolicy(this, `${w.component}-netpol`, {
      metadata,
      spec: { podSelector: { matchLabels: selectorLabels(p, w.component) }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
    });
  }

  private operatorRbac(p: Chat4AllProps, metadata: { name: string; namespace: string; labels: Record<string, string> }) {
    new k8s.KubeServiceAccount(this, 'operator-sa', { metadata, automountServiceAccountToken: true });
    new k8s.KubeRole(this, 'operator-role', { metadata, rules: operatorRules() });
    new k8s.KubeRoleBinding(this, 'operator-binding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: metadata.name, namespace: p.namespace }],
    });
  }
}

/**
 * Egress to the internet only: every address but the private (RFC 1918, CGNAT 100.64/10), loopback,
 * link-local (169.254/16 holds the cloud metadata endpoint; fe80::/10) and unique-local ranges.
 */
export const PUBLIC_ONLY = [
  { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'] } },
  { ipBlock: { cidr: '::/0', except: ['::1/128', 'fc00::/7', 'fe80::/10'] } },
];

/** The label of the Services the ServiceMonitor selects: one per workload, on its metrics port. */
export const METRICS_SERVICE_LABEL = 'chat4all.io/metrics';

/** What the operator may do, in its own namespace only (a Role, never a ClusterRole). */
export function operatorRules(): k8s.PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
    { apiGroups: [EXPERIMENT_GROUP], resources: [EXPERIMENT_PLURAL], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: [EXPERIMENT_GROUP], resources: [`${EXPERIMENT_PLURAL}/status`], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [EXPERIMENT_GROUP], resources: [`${EXPERIMENT_PLURAL}/finalizers`], verbs: ['update'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

function lagOf(p: Chat4AllProps, w: Workload) {
  return w.key === 'router' ? p.router.autoscaling : p.connectors.autoscaling;
}

function quantity(v: string | number): k8s.Quantity {
  return typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v);
}

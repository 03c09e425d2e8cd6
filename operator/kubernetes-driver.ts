import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { WORKLOADS, type ExperimentSpec, type Workload } from './experiment-spec.ts';
import { pollUntil, type BrokerFaultRecord, type Instance, type KillRecord, type PlatformDriver, type ProviderFault } from './driver.ts';
import { kube, NotSupportedError, statusOf } from './kubernetes-errors.ts';
import { setSimFault, simStats } from './provider-sim-admin.ts';
import { fetchMetrics } from '../services/core/prom-text.ts';

/** The labels the chart puts on every pod (`cdk8s/chat4all-chart.ts`, `selectorLabels`). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
} as const;

/** The port each workload serves `/metrics` on when its pod names no `metrics` or `http` port (`cdk8s/workloads.ts`). */
const DEFAULT_PORTS: Record<string, number> = { api: 8080, router: 8091, 'connector-whatsapp': 8090, 'connector-instagram': 8090, 'provider-sim': 9300 };

/** Workloads that are Deployments of the chart (the broker is outside it). */
const CHART_WORKLOADS = WORKLOADS.filter((w) => w !== 'broker');

export interface KubernetesDriverOptions {
  /** The namespace of the installation (the operator's own). */
  namespace: string;
  /** The chart's release name: `app.kubernetes.io/instance` and the prefix of every Deployment. */
  instance: string;
  /** Where the load goes: the API's and the provider simulator's Service URLs. */
  target: { apiUrl: string; simUrl: string };
  /** Partitions of the accepted-messages topic (`KAFKA_PARTITIONS`). */
  partitions: number;
  /** Bound on a deleted pod disappearing. @default 60000 */
  killTimeoutMs?: number;
  /** Bound on a Deployment reaching its replicas, ready. @default 120000 */
  scaleTimeoutMs?: number;
  /** Bound on one `/metrics` scrape. @default 900 */
  scrapeTimeoutMs?: number;
  /** How often the API server is polled while waiting. @default 250 */
  pollMs?: number;
}

/**
 * What the Kubernetes driver cannot run, in words (empty: it can). The operator checks this
 * before it touches anything.
 */
export function kubernetesLimitations(spec: ExperimentSpec): string[] {
  const out: string[] = [];
  if (Object.keys(spec.target.env).length > 0) {
    out.push(
      `per-experiment settings (target.env: ${Object.keys(spec.target.env).join(', ')}) would need the Deployment's pod template patched, which the operator's Role does not allow; run this experiment with the local driver`,
    );
  }
  if (spec.fault.type === 'broker-outage') out.push(brokerUnsupported(spec.fault.mode));
  if (spec.target.workload === 'broker' && spec.fault.type !== 'broker-outage') out.push('the broker is not a workload of the chart (Kafka runs outside it, e.g. Strimzi): it has no pods to kill here');
  return out;
}

function brokerUnsupported(action: string): string {
  return `broker faults (${action}) need the brokers, which run outside the chart (e.g. a Strimzi Kafka whose operator reconciles them) and which the operator's Role may not touch; run broker-outage with the local driver (npx chat4all experiment run broker-outage)`;
}

const isWorkload = (c: string | undefined): c is Workload => c !== undefined && (CHART_WORKLOADS as readonly string[]).includes(c);

function podState(pod: V1Pod): Instance['state'] {
  if (pod.metadata?.deletionTimestamp) return 'stopping';
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 'exited';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return phase === 'Running' && ready ? 'running' : 'starting';
}

function podPort(pod: V1Pod, workload: Workload): number | undefined {
  const ports = pod.spec?.containers.flatMap((c) => c.ports ?? []) ?? [];
  // The API, routers and connectors serve /metrics (and /healthz) on their `metrics` port.
  return (ports.find((p) => p.name === 'metrics') ?? ports.find((p) => p.name === 'http') ?? ports[0])?.containerPort ?? DEFAULT_PORTS[workload];
}

const time = (d: Date | string | undefined): number | null => {
  if (d === undefined) return null;
  const t = d instanceof Date ? d.getTime() : Date.parse(d);
  return Number.isFinite(t) ? t : null;
};

/**
 * The experiment port on a Kubernetes installation of the chart: instances are pods (selected by
 * the chart's labels), a kill deletes a pod, scaling patches a Deployment's scale subresource,
 * provider faults go to the simulator's admin endpoint through its Service, scrapes go to the
 * pod's own IP and `http` port. Every wait is bounded.
 */
export class KubernetesDriver implements PlatformDriver {
  readonly kind = 'kubernetes' as const;
  readonly target: { apiUrl: string; simUrl: string };
  readonly partitions: number;
  private readonly ns: string;
  private readonly opts: Required<Pick<KubernetesDriverOptions, 'killTimeoutMs' | 'scaleTimeoutMs' | 'scrapeTimeoutMs' | 'pollMs'>>;
  /** The pods seen by the last listing, by name: where to scrape, which workload a name belongs to. */
  private readonly seen = new Map<string, Instance>();
  private envByWorkload: Record<string, Record<string, string>> = {};

  constructor(
    private readonly core: CoreV1Api,
    private readonly apps: AppsV1Api,
    private readonly options: KubernetesDriverOptions,
  ) {
    this.ns = options.namespace;
    this.target = options.target;
    this.partitions = options.partitions;
    this.opts = {
      killTimeoutMs: options.killTimeoutMs ?? 60_000,
      scaleTimeoutMs: options.scaleTimeoutMs ?? 120_000,
      scrapeTimeoutMs: options.scrapeTimeoutMs ?? 900,
      pollMs: options.pollMs ?? 250,
    };
  }

  static fromKubeConfig(kc: KubeConfig, options: KubernetesDriverOptions): KubernetesDriver {
    return new KubernetesDriver(kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api), options);
  }

  /** The Deployment of a workload, as the chart names it. */
  deploymentName(workload: Workload): string {
    return `${this.options.instance}-${workload}`;
  }

  /** The selector of one workload's pods, or of every workload of the installation. */
  labelSelector(workload?: Workload): string {
    const base = `${LABELS.name}=chat4all,${LABELS.instance}=${this.options.instance}`;
    return workload ? `${base},${LABELS.component}=${workload}` : `${base},${LABELS.component} in (${CHART_WORKLOADS.join(',')})`;
  }

  async listInstances(workload?: Workload): Promise<Instance[]> {
    if (workload === 'broker') return [];
    const list = await kube(`list pods ${this.labelSelector(workload)} in ${this.ns}`, () => this.core.listNamespacedPod({ namespace: this.ns, labelSelector: this.labelSelector(workload) }));
    const pods = [...list.items].sort((a, b) => (time(a.metadata?.creationTimestamp) ?? 0) - (time(b.metadata?.creationTimestamp) ?? 0) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const out: Instance[] = [];
    for (const pod of pods) {
      const component = pod.metadata?.labels?.[LABELS.component];
      if (!isWorkload(component) || (workload && component !== workload) || !pod.metadata?.name) continue;
      const port = podPort(pod, component);
      const ip = pod.status?.podIP;
      const instance: Instance = {
        name: pod.metadata.name,
        workload: component,
        state: podState(pod),
        pid: null,
        url: ip && port ? `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` : null,
        started_at: time(pod.status?.startTime),
      };
      this.seen.set(instance.name, instance);
      out.push(instance);
    }
    return out;
  }

  /**
   * Deletes the pod (KILL: `gracePeriodSeconds: 0`, no SIGTERM first; TERM: the pod's own grace
   * period) and waits until it is gone: the API answers 404, or the name is back with another uid
   * (a StatefulSet's pod). The ReplicaSet starts a replacement by itself.
   */
  async kill(instance: string, signal: 'KILL' | 'TERM'): Promise<KillRecord> {
    const pod = await this.readPod(instance);
    if (!pod) throw new Error(`no pod named ${instance} in namespace ${this.ns}`);
    const uid = pod.metadata?.uid ?? '?';
    const component = pod.metadata?.labels?.[LABELS.component];
    const before = new Set(isWorkload(component) ? (await this.listInstances(component)).map((i) => i.name) : []);
    const at = Date.now();
    await kube(`delete pod ${instance}`, () =>
      this.core.deleteNamespacedPod({ name: instance, namespace: this.ns, ...(signal === 'KILL' ? { gracePeriodSeconds: 0 } : {}) }),
    ).catch((err: unknown) => {
      if (statusOf(err) !== 404) throw err; // already gone
    });
    const gone = await pollUntil(async () => {
      const now = await this.readPod(instance);
      return (!now || now.metadata?.uid !== uid) && Date.now();
    }, this.opts.killTimeoutMs, this.opts.pollMs);
    const how = signal === 'KILL' ? 'gracePeriodSeconds=0 (SIGKILL, no SIGTERM first)' : 'its grace period (SIGTERM first)';
    let proof: string;
    if (gone) {
      const replacements = isWorkload(component) ? (await this.listInstances(component)).filter((i) => !before.has(i.name) && i.name !== instance) : [];
      proof = `pod ${instance} (uid ${uid}) deleted with ${how}; gone ${gone - at} ms later (GET answers 404)${replacements.length ? `; replaced by ${replacements.map((r) => `${r.name} (${r.state})`).join(', ')}` : ''}`;
    } else {
      proof = `pod ${instance} (uid ${uid}) deleted with ${how} still exists ${Math.round(this.opts.killTimeoutMs / 1000)} s later`;
    }
    this.seen.delete(instance);
    return { instance, pid: null, signal, at, gone_at: gone || null, proof };
  }

  /**
   * In Kubernetes the ReplicaSet restarts what was killed: "start" waits until the instance's
   * workload runs its desired replicas again, and returns the instance (or its replacement).
   */
  async start(instance: string, options: { env?: Record<string, string> } = {}): Promise<Instance> {
    this.refuseEnv(options.env);
    const workload = this.seen.get(instance)?.workload ?? (isWorkload(instance) ? instance : undefined) ?? this.workloadByName(instance);
    if (!workload) throw new Error(`no pod named ${instance} in namespace ${this.ns}, and no workload of that name`);
    const want = await this.desiredReplicas(workload);
    const running = await pollUntil(async () => {
      const now = (await this.listInstances(workload)).filter((i) => i.state === 'running');
      return now.length >= want && now;
    }, this.opts.scaleTimeoutMs, this.opts.pollMs);
    if (!running) throw new Error(`${workload} did not run ${want} ready pod(s) within ${Math.round(this.opts.scaleTimeoutMs / 1000)} s`);
    return running.find((i) => i.name === instance) ?? running.reduce((a, b) => ((b.started_at ?? 0) > (a.started_at ?? 0) ? b : a));
  }

  /** Patches the Deployment's scale subresource (a JSON merge patch) and waits until exactly `replicas` pods are ready. */
  async scale(workload: Workload, replicas: number, options: { env?: Record<string, string> } = {}): Promise<Instance[]> {
    this.refuseEnv(options.env);
    if (workload === 'broker') throw new NotSupportedError(brokerUnsupported('scale'));
    const name = this.deploymentName(workload);
    await kube(`patch deployments/${name}/scale`, () =>
      this.apps.patchNamespacedDeploymentScale({ name, namespace: this.ns, body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
    let last = '';
    const done = await pollUntil(async () => {
      const d = await kube(`get deployment ${name}`, () => this.apps.readNamespacedDeployment({ name, namespace: this.ns }));
      const pods = (await this.listInstances(workload)).filter((i) => i.state !== 'stopping' && i.state !== 'exited');
      const ready = pods.filter((i) => i.state === 'running').length;
      last = `spec.replicas ${d.spec?.replicas}, readyReplicas ${d.status?.readyReplicas ?? 0}, ${ready} of ${pods.length} pod(s) ready`;
      return d.spec?.replicas === replicas && (d.status?.readyReplicas ?? 0) === replicas && ready === replicas && pods.length === replicas;
    }, this.opts.scaleTimeoutMs, this.opts.pollMs);
    if (!done) {
      const hint = /spec\.replicas (\d+)/.exec(last)?.[1] !== String(replicas) ? ': something else scales it (a HorizontalPodAutoscaler or KEDA ScaledObject? install with autoscaling.mode none for experiments that scale)' : '';
      throw new Error(`deployment ${name} did not reach ${replicas} ready replica(s) within ${Math.round(this.opts.scaleTimeoutMs / 1000)} s (${last})${hint}`);
    }
    return this.listInstances(workload);
  }

  setProviderFault(channel: 'whatsapp' | 'instagram', fault: ProviderFault | null): Promise<{ at: number; proof: string }> {
    return setSimFault(this.target.simUrl, channel, fault);
  }

  /** Bringing brokers "up" is a no-op (this driver never takes them down); anything else is not supported. */
  async setBrokerFault(action: 'down' | 'up' | 'restart'): Promise<BrokerFaultRecord> {
    if (action === 'up') return { action, at: Date.now(), proof: 'the kubernetes driver injects no broker faults: nothing to bring back' };
    throw new NotSupportedError(brokerUnsupported(action));
  }

  async scrape(instance: string): Promise<string | null> {
    let url = this.seen.get(instance)?.url ?? null;
    if (!url) {
      await this.listInstances();
      url = this.seen.get(instance)?.url ?? null;
    }
    if (!url) return null;
    return fetchMetrics(url, this.opts.scrapeTimeoutMs);
  }

  providerStats(): Promise<Record<string, unknown> | null> {
    return simStats(this.target.simUrl);
  }

  waitFor<T>(check: () => Promise<T | false | undefined>, timeoutMs: number, intervalMs = 200): Promise<T | null> {
    return pollUntil(check, timeoutMs, intervalMs);
  }

  /** Reads every workload's Deployment for `baseEnv` (its container's literal `env` values). */
  async loadBaseEnv(): Promise<void> {
    const out: Record<string, Record<string, string>> = {};
    for (const w of CHART_WORKLOADS) {
      const name = this.deploymentName(w);
      try {
        const d = await kube(`get deployment ${name}`, () => this.apps.readNamespacedDeployment({ name, namespace: this.ns }));
        const c = d.spec?.template.spec?.containers[0];
        out[w] = Object.fromEntries((c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      } catch (err) {
        if (statusOf(err) !== 404) throw err; // a workload the installation does not run
      }
    }
    this.envByWorkload = out;
  }

  /** The settings a workload's Deployment gives its pods (literal values; `valueFrom` entries are left out). */
  baseEnv(instance: string): Record<string, string> {
    const workload = isWorkload(instance) ? instance : this.seen.get(instance)?.workload;
    return { ...(workload ? this.envByWorkload[workload] : undefined) };
  }

  private refuseEnv(env: Record<string, string> | undefined) {
    if (env && Object.keys(env).length > 0) {
      throw new NotSupportedError(`starting pods with other settings (${Object.keys(env).join(', ')}) would need the Deployment's pod template patched, which the operator's Role does not allow`);
    }
  }

  private workloadByName(name: string): Workload | undefined {
    // `<instance>-<workload>-<replicaset hash>-<pod hash>`: the longest workload that fits.
    const prefix = `${this.options.instance}-`;
    if (!name.startsWith(prefix)) return undefined;
    return [...CHART_WORKLOADS].sort((a, b) => b.length - a.length).find((w) => name.startsWith(`${prefix}${w}-`));
  }

  private async desiredReplicas(workload: Workload): Promise<number> {
    const name = this.deploymentName(workload);
    const s = await kube(`get deployments/${name}/scale`, () => this.apps.readNamespacedDeploymentScale({ name, namespace: this.ns }));
    return s.spec?.replicas ?? 0;
  }

  private async readPod(name: string): Promise<V1Pod | null> {
    try {
      return await kube(`get pod ${name}`, () => this.core.readNamespacedPod({ name, namespace: this.ns }));
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }
}

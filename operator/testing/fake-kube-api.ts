import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A loopback fake of the Kubernetes API server, with just the endpoints the operator uses and
 * the JSON shapes the real one answers: pods (list with labelSelector, get, delete; a deleted
 * pod of a Deployment is replaced like a ReplicaSet would, with a new name and uid), Deployments
 * and their scale subresource (merge, strategic-merge and JSON patches), Leases, the Experiment
 * custom resources (list, get, watch, create, delete, patch, status patch) and Events. Deleting
 * an Experiment that has finalizers only sets `metadata.deletionTimestamp`; it goes once a patch
 * leaves `metadata.finalizers` empty (and no finalizer may be added meanwhile), as on a real API server. It keeps its
 * state in memory and logs every request for the tests to assert on. No kube-apiserver is
 * obtainable here (docs/reference: "Kubernetes, Helm").
 */

type Json = Record<string, unknown>;
type Obj = Json & { metadata: Json & { name: string; namespace?: string; uid: string; resourceVersion: string } };

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  authorization: string | null;
  body: unknown;
  status: number;
}

export interface FakeDeployment {
  name: string;
  /** `spec.selector.matchLabels`; the pods also carry `labels`. */
  selector: Record<string, string>;
  labels?: Record<string, string>;
  replicas: number;
  /** The container's `http` port. */
  port: number;
  env?: { name: string; value: string }[];
}

export interface FakeKubeOptions {
  /** Before a new pod is Running and Ready. @default 30 */
  podReadyDelayMs?: number;
  /** Before the "ReplicaSet" creates a missing pod. @default 30 */
  replaceDelayMs?: number;
  /** How long a pod deleted with a grace period stays Terminating. @default 100 */
  terminatingMs?: number;
  /** Called for each pod before it turns Ready (it may set `spec.containers[0].ports[0].containerPort`). */
  onPodCreated?: (pod: Obj) => void | Promise<void>;
  /** Called when a pod is removed for good. */
  onPodRemoved?: (pod: Obj) => void;
  /** The `status.phase` and `status.verdict` values the CRD allows (others answer 422 like the API server). */
  statusEnums?: { phase: readonly string[]; verdict: readonly string[] };
}

const EXP = { group: 'chat4all.io', version: 'v1alpha1', plural: 'experiments', kind: 'Experiment' };
const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'];

/** RFC 3339 with whole seconds, as the API server writes `metav1.Time`. */
const k8sTime = (ms = Date.now()) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function status(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902, the operations a client sends to a scale or status (add, replace, remove). */
function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new Error('json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
  const doc = structuredClone(target) as Json;
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let node: Json = doc;
    for (const k of keys) {
      if (typeof node[k] !== 'object' || node[k] === null) {
        if (op.op === 'add') node[k] = {};
        else throw new Error(`jsonpatch ${op.op} operation does not apply: doc is missing path: ${op.path}`);
      }
      node = node[k] as Json;
    }
    if (op.op === 'remove') delete node[last];
    else if (op.op === 'add' || op.op === 'replace') node[last] = op.value;
    else throw new Error(`unsupported JSON patch op ${op.op}`);
  }
  return doc;
}

/** Equality (`k=v`, `k==v`, `k!=v`) and set (`k in (a,b)`, `k notin (a)`, `k`, `!k`) requirements, comma separated. */
export function matchesSelector(labels: Record<string, string>, selector: string | undefined): boolean {
  if (!selector) return true;
  const reqs = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return reqs.every((raw) => {
    const r = raw.trim();
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim());
      return m[2] === 'in' ? values.includes(labels[m[1]!] ?? '\0') : !values.includes(labels[m[1]!] ?? '\0');
    }
    m = /^([^!=\s]+)\s*(!=|==|=)\s*(\S*)$/.exec(r);
    if (m) return m[2] === '!=' ? labels[m[1]!] !== m[3] : labels[m[1]!] === m[3];
    if (r.startsWith('!')) return !(r.slice(1) in labels);
    return r in labels;
  });
}

interface Watcher {
  res: ServerResponse;
  namespace: string;
}

/** The fake API server; `start()` listens on 127.0.0.1 on a free port. */
export class FakeKubeApi {
  readonly requests: RequestLogEntry[] = [];
  readonly pods = new Map<string, Obj>();
  readonly deployments = new Map<string, Obj>();
  readonly leases = new Map<string, Obj>();
  readonly experiments = new Map<string, Obj>();
  readonly events: Obj[] = [];
  /** Every pod ever removed, in order. */
  readonly removedPods: Obj[] = [];
  private rv = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watchers = new Set<Watcher>();
  private readonly history: { rv: number; type: string; object: Obj }[] = [];
  private readonly pendingCreates = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly namespace: string,
    private readonly options: FakeKubeOptions,
  ) {}

  static async start(namespace = 'chat4all', options: FakeKubeOptions = {}): Promise<FakeKubeApi> {
    const ref: { api?: FakeKubeApi } = {};
    const server = createServer((req, res) => void ref.api!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    ref.api = new FakeKubeApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, namespace, options);
    return ref.api;
  }

  /** A kubeconfig (YAML is a superset of JSON) for this server; plain HTTP needs `insecure-skip-tls-verify`. */
  kubeconfig(token = 'fake-token'): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: this.namespace } }],
      'current-context': 'fake',
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- state helpers for tests -------------------------------------------------------------

  /** Adds a Deployment and (after the ready delay) its pods. */
  addDeployment(d: FakeDeployment): Obj {
    const labels = { ...d.selector, ...d.labels };
    const obj = this.stamp({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: d.name, namespace: this.namespace, labels, generation: 1, creationTimestamp: k8sTime() },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: d.selector },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'main', image: 'chat4all:test', ports: [{ name: 'http', containerPort: d.port, protocol: 'TCP' }], env: d.env ?? [] }], terminationGracePeriodSeconds: 30 },
        },
      },
      status: {},
    });
    (obj as Json).rsHash = randomBytes(5).toString('hex').slice(0, 10);
    this.deployments.set(d.name, obj);
    this.reconcileDeployment(d.name, 0);
    return obj;
  }

  /**
   * Creates an Experiment as `kubectl apply` would; `extra` sets what an operator would have
   * written before (finalizers, annotations, status), e.g. to stand for one that crashed mid-run.
   */
  createExperiment(name: string, spec: unknown, extra: { finalizers?: string[]; annotations?: Record<string, string>; status?: Json } = {}): Obj {
    const obj = this.stamp({
      apiVersion: `${EXP.group}/${EXP.version}`,
      kind: EXP.kind,
      metadata: {
        name,
        namespace: this.namespace,
        generation: 1,
        creationTimestamp: k8sTime(),
        ...(extra.finalizers ? { finalizers: [...extra.finalizers] } : {}),
        ...(extra.annotations ? { annotations: { ...extra.annotations } } : {}),
      },
      spec,
      ...(extra.status ? { status: structuredClone(extra.status) } : {}),
    });
    this.experiments.set(name, obj);
    this.notify('ADDED', obj);
    return obj;
  }

  /** As `kubectl delete`: gone at once without finalizers; otherwise marked (`deletionTimestamp`) until they are removed. */
  deleteExperiment(name: string): void {
    const obj = this.experiments.get(name);
    if (!obj) return;
    if (((obj.metadata.finalizers as string[] | undefined) ?? []).length > 0) {
      if ((obj.metadata as Json).deletionTimestamp) return;
      (obj.metadata as Json).deletionTimestamp = k8sTime();
      (obj.metadata as Json).deletionGracePeriodSeconds = 0;
      this.stamp(obj);
      this.notify('MODIFIED', obj);
      return;
    }
    this.removeExperiment(obj);
  }

  private removeExperiment(obj: Obj) {
    this.experiments.delete(obj.metadata.name);
    this.stamp(obj);
    this.notify('DELETED', obj);
  }

  /** Pods matching a selector, sorted by name. */
  podList(selector?: string): Obj[] {
    return [...this.pods.values()].filter((p) => matchesSelector(((p.metadata.labels as Record<string, string>) ?? {}), selector)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** Requests whose method and path match. */
  requestsTo(method: string, path: RegExp): RequestLogEntry[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** Resolves once `check` holds (polling the in-memory state, every 20 ms), or rejects after `timeoutMs`. */
  async until<T>(what: string, check: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`fake kube API: ${what} did not happen within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // --- the API -----------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type']?.split(';')[0]?.trim() ?? null,
      authorization: req.headers.authorization ?? null,
      body,
      status: 0,
    };
    this.requests.push(entry);
    const send = (code: number, obj: unknown) => {
      entry.status = code;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    try {
      this.route(entry, url, req, res, send);
    } catch (err) {
      send(500, status(500, 'InternalError', (err as Error).message));
    }
  }

  private route(e: RequestLogEntry, url: URL, _req: IncomingMessage, res: ServerResponse, send: (code: number, obj: unknown) => void) {
    const p = e.path;
    let m: RegExpExecArray | null;
    const nsOk = (ns: string) => ns === this.namespace;
    const notFound = (kind: string, name: string, group = '') => send(404, status(404, 'NotFound', `${kind}${group ? `.${group}` : ''} "${name}" not found`, { name, kind }));

    // pods
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(p)) && e.method === 'GET') {
      const items = nsOk(m[1]!) ? this.podList(e.query.labelSelector) : [];
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(p))) {
      const pod = nsOk(m[1]!) ? this.pods.get(m[2]!) : undefined;
      if (!pod) return notFound('pods', m[2]!);
      if (e.method === 'GET') return send(200, pod);
      if (e.method === 'DELETE') {
        const grace = e.query.gracePeriodSeconds ?? (e.body as { gracePeriodSeconds?: number } | undefined)?.gracePeriodSeconds;
        return send(200, this.deletePod(pod, grace === undefined ? 30 : Number(grace)));
      }
    }
    // deployments and their scale
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(p))) {
      const d = nsOk(m[1]!) ? this.deployments.get(m[2]!) : undefined;
      if (!d) return notFound('deployments', m[2]!, 'apps');
      const spec = d.spec as Json & { replicas: number };
      if (!m[3]) {
        if (e.method === 'GET') return send(200, this.withStatus(d));
      } else if (e.method === 'GET') {
        return send(200, this.scaleOf(d));
      } else if (e.method === 'PATCH' || e.method === 'PUT') {
        let next: Json;
        try {
          next = e.method === 'PUT' ? (e.body as Json) : (this.applyPatch(e, this.scaleOf(d), false) as Json);
        } catch (err) {
          return send((err as { code?: number }).code ?? 422, status((err as { code?: number }).code ?? 422, 'Invalid', (err as Error).message));
        }
        const replicas = (next.spec as { replicas?: unknown } | undefined)?.replicas;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) return send(422, status(422, 'Invalid', `Scale.autoscaling "${d.metadata.name}" is invalid: spec.replicas: Invalid value`));
        if (spec.replicas !== replicas) {
          spec.replicas = replicas;
          (d.metadata as Json).generation = Number((d.metadata as Json).generation ?? 1) + 1;
          this.stamp(d);
          this.reconcileDeployment(d.metadata.name, 0);
        }
        return send(200, this.scaleOf(d));
      }
    }
    // leases
    if ((m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(p))) {
      if (!nsOk(m[1]!)) return notFound('leases', m[2] ?? '', 'coordination.k8s.io');
      const name = m[2];
      if (!name && e.method === 'POST') {
        const b = e.body as Obj;
        const n = b?.metadata?.name;
        if (!n) return send(422, status(422, 'Invalid', 'metadata.name: Required value'));
        if (this.leases.has(n)) return send(409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${n}" already exists`, { name: n, kind: 'leases' }));
        const obj = this.stamp({ ...b, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...b.metadata, namespace: this.namespace, creationTimestamp: k8sTime() } });
        this.leases.set(n, obj);
        return send(201, obj);
      }
      if (name) {
        const cur = this.leases.get(name);
        if (!cur) return notFound('leases', name, 'coordination.k8s.io');
        if (e.method === 'GET') return send(200, cur);
        if (e.method === 'PUT') {
          const b = e.body as Obj;
          if (b?.metadata?.resourceVersion !== cur.metadata.resourceVersion) {
            return send(409, status(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'leases' }));
          }
          const obj = this.stamp({ ...b, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...cur.metadata } });
          this.leases.set(name, obj);
          return send(200, obj);
        }
      }
    }
    // experiments
    if ((m = /^\/apis\/chat4all\.io\/v1alpha1\/namespaces\/([^/]+)\/experiments(?:\/([^/]+))?(\/status)?$/.exec(p))) {
      const ns = m[1]!;
      const name = m[2];
      if (!name && e.method === 'GET') {
        if (e.query.watch === 'true' || e.query.watch === '1') return this.watch(ns, Number(e.query.resourceVersion ?? 0), res, e);
        const items = nsOk(ns) ? [...this.experiments.values()] : [];
        return send(200, { apiVersion: `${EXP.group}/${EXP.version}`, kind: 'ExperimentList', metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (!name && e.method === 'POST') {
        const b = e.body as Obj;
        if (this.experiments.has(b.metadata.name)) return send(409, status(409, 'AlreadyExists', `experiments.chat4all.io "${b.metadata.name}" already exists`));
        return send(201, this.createExperiment(b.metadata.name, b.spec));
      }
      const cur = name && nsOk(ns) ? this.experiments.get(name) : undefined;
      if (!cur) return notFound('experiments', name ?? '', EXP.group);
      if (e.method === 'GET') return send(200, cur);
      if (e.method === 'DELETE' && !m[3]) {
        this.deleteExperiment(cur.metadata.name);
        return send(200, cur);
      }
      const pre = (e.body as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
      if (e.method === 'PATCH' && pre !== undefined && pre !== cur.metadata.resourceVersion) {
        return send(409, status(409, 'Conflict', `Operation cannot be fulfilled on experiments.chat4all.io "${cur.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`));
      }
      if (e.method === 'PATCH' && !m[3]) return this.patchExperiment(e, cur, send);
      if (e.method === 'PATCH' && m[3]) {
        let next: Obj;
        try {
          next = this.applyPatch(e, cur, true) as Obj;
        } catch (err) {
          const code = (err as { code?: number }).code ?? 422;
          return send(code, status(code, code === 415 ? 'UnsupportedMediaType' : 'Invalid', (err as Error).message));
        }
        // The status subresource changes status only.
        const st = (next.status ?? {}) as Json;
        const enums = this.options.statusEnums;
        if (enums) {
          if (st.phase !== undefined && !enums.phase.includes(String(st.phase))) {
            return send(422, status(422, 'Invalid', `Experiment.chat4all.io "${cur.metadata.name}" is invalid: status.phase: Unsupported value: "${String(st.phase)}": supported values: ${enums.phase.map((v) => `"${v}"`).join(', ')}`));
          }
          if (st.verdict !== undefined && !enums.verdict.includes(String(st.verdict))) {
            return send(422, status(422, 'Invalid', `Experiment.chat4all.io "${cur.metadata.name}" is invalid: status.verdict: Unsupported value: "${String(st.verdict)}"`));
          }
        }
        cur.status = st;
        this.stamp(cur);
        this.notify('MODIFIED', cur);
        return send(200, cur);
      }
    }
    // events
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(p)) && e.method === 'POST') {
      const b = e.body as Obj;
      if (!b?.involvedObject || !b.reason || !(b.metadata?.name || b.metadata?.generateName)) return send(422, status(422, 'Invalid', 'involvedObject, reason and metadata.name are required'));
      const obj = this.stamp({ ...b, metadata: { ...b.metadata, name: b.metadata.name ?? `${String(b.metadata.generateName)}${randomBytes(3).toString('hex')}`, namespace: this.namespace } });
      this.events.push(obj);
      return send(201, obj);
    }
    send(404, status(404, 'NotFound', `the server could not find the requested resource (${e.method} ${p}${url.search})`));
  }

  /**
   * A patch of the Experiment itself: its metadata (finalizers, annotations, labels) and spec; the
   * status is the subresource's. Once an Experiment being deleted has no finalizers left, it goes.
   */
  private patchExperiment(e: RequestLogEntry, cur: Obj, send: (code: number, obj: unknown) => void) {
    let next: Obj;
    try {
      next = this.applyPatch(e, cur, true) as Obj;
    } catch (err) {
      const code = (err as { code?: number }).code ?? 422;
      return send(code, status(code, code === 415 ? 'UnsupportedMediaType' : 'Invalid', (err as Error).message));
    }
    const meta = cur.metadata as Json;
    const was = (meta.finalizers as string[] | undefined) ?? [];
    const finalizers = next.metadata.finalizers ?? [];
    if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string')) {
      return send(422, status(422, 'Invalid', `Experiment.chat4all.io "${cur.metadata.name}" is invalid: metadata.finalizers: Invalid value: must be a list of strings`));
    }
    if (meta.deletionTimestamp && finalizers.some((f) => !was.includes(f as string))) {
      return send(422, status(422, 'Invalid', `Experiment.chat4all.io "${cur.metadata.name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(finalizers.filter((f) => !was.includes(f as string)))}`));
    }
    for (const k of ['finalizers', 'annotations', 'labels'] as const) {
      const v = next.metadata[k];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) delete meta[k];
      else meta[k] = v;
    }
    if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) {
      cur.spec = next.spec;
      meta.generation = Number(meta.generation ?? 1) + 1;
    }
    if (meta.deletionTimestamp && !meta.finalizers) {
      this.removeExperiment(cur);
      return send(200, cur);
    }
    this.stamp(cur);
    this.notify('MODIFIED', cur);
    return send(200, cur);
  }

  private applyPatch(e: RequestLogEntry, target: unknown, customResource: boolean): unknown {
    const ct = e.contentType ?? '';
    if (!PATCH_TYPES.includes(ct) || (customResource && ct === 'application/strategic-merge-patch+json')) {
      const err = new Error(`the body of the request was in an unknown format - accepted media types include: ${(customResource ? PATCH_TYPES.filter((t) => !t.includes('strategic')) : PATCH_TYPES).join(', ')}, application/apply-patch+yaml`);
      (err as Error & { code: number }).code = 415;
      throw err;
    }
    if (ct === 'application/json-patch+json') return jsonPatch(target, e.body);
    if (!e.body || typeof e.body !== 'object' || Array.isArray(e.body)) throw new Error('a merge patch must be a JSON object');
    return mergePatch(target, e.body);
  }

  private watch(namespace: string, sinceRv: number, res: ServerResponse, e: RequestLogEntry) {
    e.status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { res, namespace };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
    if (sinceRv > 0) for (const h of this.history.filter((x) => x.rv > sinceRv)) res.write(`${JSON.stringify({ type: h.type, object: h.object })}\n`);
  }

  private notify(type: string, obj: Obj) {
    const snapshot = structuredClone(obj);
    this.history.push({ rv: Number(obj.metadata.resourceVersion), type, object: snapshot });
    for (const w of this.watchers) if (w.namespace === this.namespace) w.res.write(`${JSON.stringify({ type, object: snapshot })}\n`);
  }

  private stamp<T extends Json>(obj: T): T & Obj {
    const o = obj as unknown as Obj;
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion = String(++this.rv);
    return o as T & Obj;
  }

  private later(ms: number, fn: () => void | Promise<void>) {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) void fn();
    }, ms);
    this.timers.add(t);
  }

  private scaleOf(d: Obj): Json {
    const sel = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: d.metadata.name, namespace: this.namespace, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: (d.metadata as Json).creationTimestamp },
      spec: { replicas: (d.spec as { replicas: number }).replicas },
      status: { replicas: this.livePods(d).length, selector: Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  private livePods(d: Obj): Obj[] {
    const sel = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    return [...this.pods.values()].filter((p) => !(p.metadata as Json).deletionTimestamp && Object.entries(sel).every(([k, v]) => (p.metadata.labels as Record<string, string>)[k] === v));
  }

  private withStatus(d: Obj): Obj {
    const live = this.livePods(d);
    const ready = live.filter((p) => ((p.status as Json).conditions as { type: string; status: string }[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    d.status = { observedGeneration: (d.metadata as Json).generation, replicas: live.length, updatedReplicas: live.length, readyReplicas: ready, availableReplicas: ready };
    return d;
  }

  /** Like a ReplicaSet: creates missing pods after a delay, removes extra ones (newest first). */
  private reconcileDeployment(name: string, delay = this.options.replaceDelayMs ?? 30) {
    const d = this.deployments.get(name);
    if (!d) return;
    const want = (d.spec as { replicas: number }).replicas;
    const live = this.livePods(d);
    const pending = this.pendingCreates.get(name) ?? 0;
    for (let i = live.length + pending; i < want; i++) {
      this.pendingCreates.set(name, (this.pendingCreates.get(name) ?? 0) + 1);
      this.later(delay, () => {
        this.pendingCreates.set(name, (this.pendingCreates.get(name) ?? 1) - 1);
        const cur = this.deployments.get(name);
        if (cur && this.livePods(cur).length < (cur.spec as { replicas: number }).replicas) void this.createPod(cur);
      });
    }
    if (live.length > want) {
      const newestFirst = [...live].sort((a, b) => String((b.metadata as Json).creationTimestamp).localeCompare(String((a.metadata as Json).creationTimestamp)) || b.metadata.name.localeCompare(a.metadata.name));
      for (const p of newestFirst.slice(0, live.length - want)) this.deletePod(p, 30, false);
    }
  }

  private async createPod(d: Obj) {
    const tpl = (d.spec as { template: { metadata: { labels: Record<string, string> }; spec: Json } }).template;
    const now = Date.now();
    const name = `${d.metadata.name}-${String((d as Json).rsHash)}-${randomBytes(4).toString('hex').slice(0, 5)}`;
    const pod = this.stamp({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { ...tpl.metadata.labels, 'pod-template-hash': String((d as Json).rsHash) },
        creationTimestamp: k8sTime(now),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${d.metadata.name}-${String((d as Json).rsHash)}`, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(tpl.spec),
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: k8sTime(now) }], qosClass: 'BestEffort' } as Json,
    });
    this.pods.set(name, pod);
    await this.options.onPodCreated?.(pod);
    this.later(this.options.podReadyDelayMs ?? 30, () => {
      if (!this.pods.has(name) || (pod.metadata as Json).deletionTimestamp) return;
      const t = k8sTime();
      pod.status = {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True', lastTransitionTime: t },
          { type: 'Ready', status: 'True', lastTransitionTime: t },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
          { type: 'PodScheduled', status: 'True', lastTransitionTime: k8sTime(now) },
        ],
        hostIP: '127.0.0.1',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        startTime: t,
        containerStatuses: [{ name: 'main', ready: true, started: true, restartCount: 0, image: 'chat4all:test', imageID: '', state: { running: { startedAt: t } } }],
        qosClass: 'BestEffort',
      };
      this.stamp(pod);
    });
  }

  /** Grace 0 removes the pod at once; otherwise it is Terminating for `terminatingMs`. Returns the pod as the API would. */
  private deletePod(pod: Obj, graceSeconds: number, replace = true): Obj {
    const name = pod.metadata.name;
    const remove = () => {
      const cur = this.pods.get(name);
      if (!cur || cur.metadata.uid !== pod.metadata.uid) return;
      this.pods.delete(name);
      this.removedPods.push(cur);
      this.options.onPodRemoved?.(cur);
    };
    const meta = pod.metadata as Json;
    meta.deletionTimestamp ??= k8sTime();
    meta.deletionGracePeriodSeconds = graceSeconds;
    pod.status = { ...(pod.status as Json), conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: k8sTime() }] };
    this.stamp(pod);
    if (graceSeconds === 0) remove();
    else this.later(this.options.terminatingMs ?? 100, remove);
    if (replace) {
      const owner = [...this.deployments.values()].find((d) => {
        const sel = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        return Object.entries(sel).every(([k, v]) => (pod.metadata.labels as Record<string, string>)[k] === v);
      });
      if (owner) this.reconcileDeployment(owner.metadata.name);
    }
    return structuredClone(pod);
  }
}

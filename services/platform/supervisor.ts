import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import { startDevBroker, type DevBroker } from '../devbroker/dev-broker.ts';
import { topicLayout } from '../core/topics.ts';
import { EXTERNAL_CHANNELS, type ExternalChannel } from '../core/domain/types.ts';
import { freePort, nextFreePort } from './free-port.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export type Role = 'broker' | 's3' | 'provider-sim' | 'api' | 'router' | 'connector' | 'gateway';
export type ProcessState = 'starting' | 'running' | 'stopping' | 'stopped' | 'exited' | 'killed';

/** One process of the local platform, as `platform ps` shows it. */
export interface ProcessInfo {
  name: string;
  role: Role;
  pid: number | null;
  state: ProcessState;
  /** When the current (or last) run started, ms since epoch. */
  started_at: number | null;
  exit_code: number | null;
  signal: string | null;
  /** Its HTTP base URL (health, metrics), when it has one. */
  url: string | null;
  /** A push gateway's WebSocket endpoint (`ws://…/v1/stream`); null for other roles. */
  stream_url?: string | null;
  restarts: number;
}

export interface SupervisorOptions {
  /** Folder for the SQLite file and the process logs. */
  dataDir: string;
  routers?: number;
  /** Push gateways to run. @default 2 */
  gateways?: number;
  /** Port of the first push gateway; the others take the next free ports. @default a free port */
  gatewayPort?: number;
  partitions?: number;
  apiPort?: number;
  simPort?: number;
  /** Port of the local S3 (s3rver). @default a free port (`make up`: 9000) */
  s3Port?: number;
  /** Extra environment for every service process (e.g. test-only settings). */
  env?: Record<string, string>;
  logLevel?: string;
  /** Bound on each process's start. @default 30000 */
  startTimeoutMs?: number;
  /** Extra Node flags for every service process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

interface Managed {
  info: ProcessInfo;
  port: number | null;
  child: ChildProcess | null;
  broker: DevBroker | null;
  exited: Promise<void> | null;
  env: Record<string, string>;
  script: string | null;
}

/**
 * The local process driver: runs the dev broker, the local S3 (s3rver), the provider simulator, the API, the routers,
 * the push gateways and one connector per channel as separate processes on loopback. It restarts nothing by itself:
 * a killed process stays down until `start`, so failover can be observed.
 * Emits `change` (ProcessInfo) on every state change.
 */
export class Supervisor extends EventEmitter {
  private readonly procs = new Map<string, Managed>();
  private brokerPorts: number[] = [];
  private readonly opts: Required<Omit<SupervisorOptions, 'env' | 'apiPort' | 'simPort' | 's3Port' | 'nodeArgs' | 'gatewayPort'>> & SupervisorOptions;
  private s3Endpoint = '';
  private readonly logs = new Map<string, WriteStream>();
  private stopping = false;

  constructor(options: SupervisorOptions) {
    super();
    this.opts = { routers: 2, gateways: 2, partitions: 12, logLevel: 'info', startTimeoutMs: 30_000, ...options };
    mkdirSync(join(this.opts.dataDir, 'logs'), { recursive: true });
  }

  get apiUrl(): string {
    return this.procs.get('api')!.info.url!;
  }
  /** The push gateways' WebSocket endpoints, first gateway first. */
  get streamUrls(): string[] {
    return [...this.procs.values()].filter((p) => p.info.role === 'gateway').map((p) => p.info.stream_url!);
  }
  /** The local S3 endpoint (s3rver) the services reach. */
  get s3Url(): string {
    return this.s3Endpoint;
  }
  get simUrl(): string {
    return this.procs.get('provider-sim')!.info.url!;
  }
  get bootstrap(): string[] {
    return this.brokerPorts.map((p) => `127.0.0.1:${p}`);
  }
  get partitions(): number {
    return this.opts.partitions;
  }

  /** Starts every process and waits until each answers its health check. */
  async start(): Promise<void> {
    this.brokerPorts = [await freePort()];
    this.add('broker', 'broker', null, null, {});
    await this.startProcess('broker');

    // The object store of files first: the API makes its bucket at start.
    const s3Port = this.opts.s3Port ?? (await freePort());
    this.s3Endpoint = `http://127.0.0.1:${s3Port}`;
    this.add('s3', 's3', 'services/platform/s3-main.ts', s3Port, { S3_PORT: String(s3Port), S3_DIR: join(this.opts.dataDir, 's3') });
    await this.startProcess('s3');

    const simPort = this.opts.simPort ?? (await freePort());
    const connectorPorts = new Map<ExternalChannel, number>();
    for (const c of EXTERNAL_CHANNELS) connectorPorts.set(c, await freePort());
    const simUrl = `http://127.0.0.1:${simPort}`;

    this.add('provider-sim', 'provider-sim', 'services/provider-sim/main.ts', simPort, {
      SIM_PORT: String(simPort),
      SIM_WEBHOOK_WHATSAPP_URL: `http://127.0.0.1:${connectorPorts.get('whatsapp')}/webhooks/whatsapp`,
      SIM_WEBHOOK_INSTAGRAM_URL: `http://127.0.0.1:${connectorPorts.get('instagram')}/webhooks/instagram`,
      SIM_LOG_LEVEL: this.opts.logLevel,
    });
    for (const c of EXTERNAL_CHANNELS) {
      this.add(`connector-${c}`, 'connector', 'services/connectors/main.ts', connectorPorts.get(c)!, {
        CONNECTOR_CHANNELS: c,
        CONNECTORS_PORT: String(connectorPorts.get(c)),
        WHATSAPP_API_BASE: simUrl,
        INSTAGRAM_API_BASE: simUrl,
      });
    }
    for (let i = 1; i <= this.opts.routers; i++) await this.addRouter(i);
    const apiPort = this.opts.apiPort ?? (await freePort());
    this.add('api', 'api', 'services/api/main.ts', apiPort, { API_PORT: String(apiPort) });
    let gatewayPort = 0;
    for (let i = 1; i <= this.opts.gateways; i++) {
      gatewayPort = i === 1 && this.opts.gatewayPort ? this.opts.gatewayPort : await nextFreePort(gatewayPort || 8080);
      this.add(`gateway-${i}`, 'gateway', 'services/gateway/main.ts', gatewayPort, { GATEWAY_PORT: String(gatewayPort) });
      this.procs.get(`gateway-${i}`)!.info.stream_url = `ws://127.0.0.1:${gatewayPort}/v1/stream`;
    }
    // The web client (/app) connects to the gateway the API names: the first one, on whatever port it got.
    const [firstStream] = this.streamUrls;
    if (firstStream && !this.opts.env?.GATEWAY_PUBLIC_URL) this.procs.get('api')!.env.GATEWAY_PUBLIC_URL = firstStream;

    const gateways = [...this.procs.values()].filter((p) => p.info.role === 'gateway').map((p) => p.info.name);
    const order = ['provider-sim', ...EXTERNAL_CHANNELS.map((c) => `connector-${c}`), ...this.routerNames(), 'api', ...gateways];
    await Promise.all(order.map((n) => this.startProcess(n)));
  }

  private routerNames(): string[] {
    return [...this.procs.values()].filter((p) => p.info.role === 'router').map((p) => p.info.name);
  }

  private async addRouter(i: number) {
    const port = await freePort();
    this.add(`router-${i}`, 'router', 'services/router/main.ts', port, { ROUTER_PORT: String(port) });
  }

  private add(name: string, role: Role, script: string | null, port: number | null, env: Record<string, string>) {
    this.procs.set(name, {
      info: {
        name,
        role,
        pid: null,
        state: 'stopped',
        started_at: null,
        exit_code: null,
        signal: null,
        url: port ? `http://127.0.0.1:${port}` : null,
        restarts: -1,
      },
      port,
      child: null,
      broker: null,
      exited: null,
      env,
      script,
    });
  }

  private commonEnv(name: string): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      SERVICE_NAME: name,
      LOG_LEVEL: this.opts.logLevel,
      BUS_DRIVER: 'kafka',
      KAFKA_BROKERS: this.bootstrap.join(','),
      // s3rver's own keys come from the dev profile (S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY).
      S3_ENDPOINT: this.s3Endpoint,
      KAFKA_PARTITIONS: String(this.opts.partitions),
      KAFKA_ASSIGN_DELAY_MS: '300',
      // The dev broker answers a waiting fetch as soon as records arrive (its relay, docs/dev-broker.md),
      // so the wait only bounds idle polling: 2 fetches a second per idle consumer, not 100.
      KAFKA_MAX_WAIT_MS: '500',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      // Presence of a killed gateway's users expires within seconds locally (15 s by default).
      GATEWAY_PRESENCE_HEARTBEAT_MS: '1000',
      GATEWAY_PRESENCE_TTL_MS: '3000',
      // The local platform links identities without the one-time code round trip (the demo, tests,
      // experiments and benchmarks link and send at once); IDENTITY_VERIFICATION=on make up turns it on.
      IDENTITY_VERIFICATION: 'off',
      STORE_DRIVER: 'sqlite',
      DATA_DIR: this.opts.dataDir,
      SQLITE_PATH: join(this.opts.dataDir, 'chat4all.db'),
      ...this.opts.env,
    };
  }

  private log(name: string): WriteStream {
    let s = this.logs.get(name);
    if (!s) {
      s = createWriteStream(join(this.opts.dataDir, 'logs', `${name}.log`), { flags: 'a' });
      this.logs.set(name, s);
    }
    return s;
  }

  private set(m: Managed, patch: Partial<ProcessInfo>) {
    Object.assign(m.info, patch);
    this.emit('change', { ...m.info });
  }

  /**
   * Starts one process (again); resolves once it answers its health check. `env` overrides its
   * environment from now on (e.g. a shorter maximum delivery age for an experiment).
   */
  async startProcess(name: string, env: Record<string, string> = {}): Promise<ProcessInfo> {
    const m = this.procs.get(name);
    if (!m) throw new Error(`no process named ${name}; see 'platform ps'`);
    Object.assign(m.env, env);
    if (m.info.state === 'running' || m.info.state === 'starting') return { ...m.info };
    this.set(m, { state: 'starting', exit_code: null, signal: null, restarts: m.info.restarts + 1 });
    if (m.info.role === 'broker') {
      // A fresh broker on the same ports: everything it held is gone, as after a real crash with no disks.
      const broker = await startDevBroker({
        topics: topicLayout(this.opts.partitions, EXTERNAL_CHANNELS),
        ports: this.brokerPorts,
      });
      m.broker = broker;
      m.exited = broker.exited.then((r) => this.onExit(m, r.code, r.signal));
      this.set(m, { pid: broker.pid, state: 'running', started_at: Date.now() });
      return { ...m.info };
    }
    const out = this.log(name);
    const child = spawn(process.execPath, [...(this.opts.nodeArgs ?? []), '--import', 'tsx', m.script!], {
      cwd: REPO_ROOT,
      env: { ...this.commonEnv(name), ...m.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    m.child = child;
    m.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
      this.onExit(m, code, signal);
      resolveExit();
    }));
    this.set(m, { pid: child.pid ?? null, started_at: Date.now() });
    await this.waitHealthy(m);
    this.set(m, { state: 'running' });
    return { ...m.info };
  }

  private onExit(m: Managed, code: number | null, signal: NodeJS.Signals | null) {
    const state: ProcessState = m.info.state === 'killed' ? 'killed' : m.info.state === 'stopping' ? 'stopped' : 'exited';
    m.child = null;
    m.broker = null;
    this.set(m, { state, exit_code: code, signal, pid: null });
  }

  private async waitHealthy(m: Managed) {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < deadline) {
      if (m.info.state !== 'starting') throw new Error(`${m.info.name} exited while starting (code ${m.info.exit_code}); see ${join(this.opts.dataDir, 'logs', `${m.info.name}.log`)}`);
      try {
        const res = await fetch(`${m.info.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${m.info.name} did not become healthy within ${this.opts.startTimeoutMs} ms; see its log in ${join(this.opts.dataDir, 'logs')}`);
  }

  /** Sends a signal to a process; it stays down until `start`. Resolves once it is gone. */
  async kill(name: string, signal: 'KILL' | 'TERM' = 'KILL'): Promise<ProcessInfo> {
    const m = this.procs.get(name);
    if (!m) throw new Error(`no process named ${name}; see 'platform ps'`);
    if (!m.info.pid) return { ...m.info };
    this.set(m, { state: signal === 'KILL' ? 'killed' : 'stopping' });
    process.kill(m.info.pid, `SIG${signal}`);
    await this.waitGone(m, signal === 'TERM' ? 25_000 : 5_000);
    return { ...m.info };
  }

  private async waitGone(m: Managed, boundMs: number) {
    const exited = m.exited;
    if (!exited) return;
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), boundMs).unref());
    if ((await Promise.race([exited.then(() => 'gone' as const), timer])) === 'timeout' && m.info.pid) {
      process.kill(m.info.pid, 'SIGKILL');
      await exited;
    }
  }

  /** Runs `n` routers: starts new ones (router-3, …) or stops the highest-numbered gracefully. */
  async scale(role: 'router', n: number): Promise<ProcessInfo[]> {
    if (role !== 'router') throw new Error(`only routers scale; got ${role}`);
    if (!Number.isInteger(n) || n < 1 || n > this.opts.partitions) {
      throw new Error(`router replicas must be 1..${this.opts.partitions} (the partitions of the topics); got ${n}`);
    }
    const names = this.routerNames();
    for (let i = names.length + 1; i <= n; i++) await this.addRouter(i);
    const all = this.routerNames();
    await Promise.all(all.slice(0, n).map((name) => this.startProcess(name)));
    for (const name of all.slice(n)) {
      await this.kill(name, 'TERM');
      this.procs.delete(name);
    }
    return this.ps().filter((p) => p.role === 'router');
  }

  /** Takes brokers down (connections refused) or brings them up, without losing data. */
  async brokerFault(action: 'down' | 'up' | 'rtt', ms = 0): Promise<void> {
    const broker = this.procs.get('broker')!.broker;
    if (!broker) throw new Error('the broker is not running; start it with `platform start broker`');
    if (action === 'down') await broker.down('all');
    else if (action === 'up') await broker.up('all');
    else await broker.rtt('all', ms);
  }

  ps(): ProcessInfo[] {
    return [...this.procs.values()].map((m) => ({ ...m.info }));
  }

  /** Stops everything: API first, then workers, then the simulator and the broker. */
  async down(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const byRole = (roles: Role[]) => [...this.procs.values()].filter((m) => roles.includes(m.info.role) && m.info.pid);
    for (const group of [['api', 'gateway'], ['router', 'connector'], ['provider-sim', 's3']] as Role[][]) {
      await Promise.all(byRole(group).map((m) => this.kill(m.info.name, 'TERM')));
    }
    const b = this.procs.get('broker');
    if (b?.broker) {
      this.set(b, { state: 'stopping' });
      await b.broker.stop();
    }
    for (const s of this.logs.values()) s.end();
  }
}

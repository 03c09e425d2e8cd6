import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor, type ProcessInfo } from '../services/platform/supervisor.ts';
import type { Workload } from './experiment-spec.ts';
import { pollUntil, type BrokerFaultRecord, type Instance, type KillRecord, type PlatformDriver, type ProviderFault } from './driver.ts';
import { setSimFault, simStats } from './provider-sim-admin.ts';
import { fetchMetrics } from '../services/core/prom-text.ts';

/** Settings of the local platform experiments run on (short relay and breaker timings, cheap password hashing). */
export const EXPERIMENT_PLATFORM_ENV: Record<string, string> = {
  SCRYPT_COST: '1024',
  RELAY_INTERVAL_MS: '500',
  RELAY_AGE_MS: '3000',
  IN_DOUBT_GRACE_MS: '10000',
  PROVIDER_TIMEOUT_MS: '2000',
  BREAKER_RESET_MS: '2000',
  BREAKER_VOLUME_THRESHOLD: '5',
  RETRY_MAX_MS: '2000',
};

function workloadOf(p: ProcessInfo): Workload {
  return p.role === 'router' ? 'router' : (p.name as Workload);
}

function toInstance(p: ProcessInfo): Instance {
  return { name: p.name, workload: workloadOf(p), state: p.state, pid: p.pid, url: p.url, started_at: p.started_at };
}

const routerNumber = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? 0);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tcpRefused(hostPort: string): Promise<string> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(port) });
    const done = (what: string) => {
      s.destroy();
      resolve(what);
    };
    s.setTimeout(1000, () => done('no answer within 1 s'));
    s.once('connect', () => done('connected (NOT refused)'));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** The local driver: the experiment port on top of the process supervisor (`make up`'s driver). */
export class LocalDriver implements PlatformDriver {
  readonly kind = 'local' as const;

  constructor(
    readonly supervisor: Supervisor,
    private readonly platformEnv: Record<string, string> = {},
  ) {}

  get target() {
    return { apiUrl: this.supervisor.apiUrl, simUrl: this.supervisor.simUrl };
  }
  get partitions() {
    return this.supervisor.partitions;
  }

  baseEnv(): Record<string, string> {
    return { ...this.platformEnv };
  }

  async listInstances(workload?: Workload): Promise<Instance[]> {
    return this.supervisor
      .ps()
      .map(toInstance)
      .filter((i) => !workload || i.workload === workload)
      .sort((a, b) => (a.workload === 'router' && b.workload === 'router' ? routerNumber(a.name) - routerNumber(b.name) : 0));
  }

  async kill(instance: string, signal: 'KILL' | 'TERM'): Promise<KillRecord> {
    const before = this.supervisor.ps().find((p) => p.name === instance);
    if (!before) throw new Error(`no instance named ${instance}`);
    const pid = before.pid;
    const at = Date.now();
    await this.supervisor.kill(instance, signal);
    const gone = pid === null ? null : await pollUntil(async () => !pidAlive(pid) && Date.now(), 5000, 20);
    return {
      instance,
      pid,
      signal,
      at,
      gone_at: gone,
      proof: pid === null ? `${instance} was not running` : gone ? `pid ${pid} no longer exists (kill(pid, 0) → ESRCH) ${gone - at} ms after SIG${signal}` : `pid ${pid} still exists 5 s after SIG${signal}`,
    };
  }

  async start(instance: string, options: { env?: Record<string, string> } = {}): Promise<Instance> {
    return toInstance(await this.supervisor.startProcess(instance, options.env ?? {}));
  }

  async scale(workload: Workload, replicas: number, options: { env?: Record<string, string> } = {}): Promise<Instance[]> {
    if (workload !== 'router') throw new Error(`only routers scale; got ${workload}`);
    const env = options.env ?? {};
    const routers = await this.listInstances('router');
    // Instances beyond `replicas` stop gracefully but stay known, so a later scale-up starts them with their settings.
    await Promise.all(routers.slice(replicas).filter((r) => r.pid).map((r) => this.supervisor.kill(r.name, 'TERM')));
    await Promise.all(routers.slice(0, replicas).map((r) => this.supervisor.startProcess(r.name, env)));
    if (routers.length < replicas) {
      const known = new Set(routers.map((r) => r.name));
      await this.supervisor.scale('router', replicas);
      if (Object.keys(env).length > 0) {
        // The supervisor starts new routers with the platform's settings: restart them with the experiment's.
        for (const r of (await this.listInstances('router')).filter((x) => !known.has(x.name))) {
          await this.supervisor.kill(r.name, 'TERM');
          await this.supervisor.startProcess(r.name, env);
        }
      }
    }
    return this.listInstances('router');
  }

  /** Forgets stopped routers beyond `replicas` (after a rollback), as `platform scale` does. */
  async prune(replicas: number): Promise<void> {
    await this.supervisor.scale('router', replicas);
  }

  setProviderFault(channel: 'whatsapp' | 'instagram', fault: ProviderFault | null) {
    return setSimFault(this.supervisor.simUrl, channel, fault);
  }

  async setBrokerFault(action: 'down' | 'up' | 'restart'): Promise<BrokerFaultRecord> {
    const at = Date.now();
    const addr = this.supervisor.bootstrap[0]!;
    if (action === 'restart') {
      const oldPid = this.supervisor.ps().find((p) => p.name === 'broker')?.pid ?? null;
      await this.supervisor.kill('broker', 'KILL');
      const info = await this.supervisor.startProcess('broker');
      return {
        action,
        at,
        old_pid: oldPid,
        new_pid: info.pid,
        proof: `broker pid ${oldPid} killed (${oldPid && pidAlive(oldPid) ? 'STILL ALIVE' : 'gone'}); started empty as pid ${info.pid}`,
      };
    }
    const running = this.supervisor.ps().find((p) => p.name === 'broker');
    if (action === 'up' && running?.state !== 'running') {
      const info = await this.supervisor.startProcess('broker');
      return { action, at, new_pid: info.pid, proof: `broker was not running; started as pid ${info.pid}` };
    }
    await this.supervisor.brokerFault(action);
    const probe = await tcpRefused(addr);
    return { action, at, proof: `TCP connect to ${addr} after ${action}: ${probe}` };
  }

  async scrape(instance: string): Promise<string | null> {
    const p = this.supervisor.ps().find((x) => x.name === instance);
    if (!p?.url || p.state !== 'running') return null;
    return fetchMetrics(p.url, 900);
  }

  providerStats(): Promise<Record<string, unknown> | null> {
    return simStats(this.supervisor.simUrl);
  }

  waitFor<T>(check: () => Promise<T | false | undefined>, timeoutMs: number, intervalMs = 200): Promise<T | null> {
    return pollUntil(check, timeoutMs, intervalMs);
  }
}

/** A fresh multi-process local platform for experiments, in its own data folder. */
export async function startExperimentPlatform(options: { env?: Record<string, string>; routers?: number; logLevel?: string } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-experiment-'));
  const env = { ...EXPERIMENT_PLATFORM_ENV, ...options.env };
  const supervisor = new Supervisor({ dataDir, routers: options.routers ?? 2, partitions: 12, logLevel: options.logLevel ?? 'info', env });
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.down();
    throw err;
  }
  return {
    supervisor,
    dataDir,
    driver: new LocalDriver(supervisor, env),
    async stop(keep = false) {
      await supervisor.down();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

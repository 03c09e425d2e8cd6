import type { Workload } from './experiment-spec.ts';

/** One running (or stopped) instance of a workload: a process locally, a pod in Kubernetes. */
export interface Instance {
  name: string;
  workload: Workload;
  /** `running` is the only state that serves; anything else is down for the experiment. */
  state: 'starting' | 'running' | 'stopping' | 'stopped' | 'exited' | 'killed';
  pid: number | null;
  /** Its HTTP base URL (`/metrics`, `/healthz`), when it has one. */
  url: string | null;
  started_at: number | null;
}

/** Proof that a kill landed: the process that was there, and that it is gone. */
export interface KillRecord {
  instance: string;
  pid: number | null;
  signal: 'KILL' | 'TERM';
  at: number;
  /** When the driver saw it gone (its pid no longer exists). */
  gone_at: number | null;
  proof: string;
}

export interface BrokerFaultRecord {
  action: 'down' | 'up' | 'restart';
  at: number;
  /** What the driver checked afterwards (connection refused, a new pid…). */
  proof: string;
  old_pid?: number | null;
  new_pid?: number | null;
}

export interface ProviderFault {
  down?: boolean;
  error_rate?: number;
  error_code?: number;
}

/**
 * The port experiments drive a platform through. The local driver runs processes through the
 * supervisor; the Kubernetes driver (later) deletes pods and patches Deployments behind the same
 * methods. Every method is bounded in time and resolves only once its effect is observed.
 */
export interface PlatformDriver {
  readonly kind: 'local' | 'kubernetes';
  /** Where the load goes. */
  readonly target: { apiUrl: string; simUrl: string };
  /** Partitions of the accepted-messages topic. */
  readonly partitions: number;
  listInstances(workload?: Workload): Promise<Instance[]>;
  kill(instance: string, signal: 'KILL' | 'TERM'): Promise<KillRecord>;
  /** Starts a stopped instance; `env` changes its settings from now on ('' removes a setting). */
  start(instance: string, options?: { env?: Record<string, string> }): Promise<Instance>;
  /** Runs `replicas` instances of a workload (only routers scale); new and restarted instances get `env`. */
  scale(workload: Workload, replicas: number, options?: { env?: Record<string, string> }): Promise<Instance[]>;
  /** `null` clears every fault of that channel. */
  setProviderFault(channel: 'whatsapp' | 'instagram', fault: ProviderFault | null): Promise<{ at: number; proof: string }>;
  setBrokerFault(action: 'down' | 'up' | 'restart'): Promise<BrokerFaultRecord>;
  /** The instance's `/metrics` text, or null if it does not answer within the bound. */
  scrape(instance: string): Promise<string | null>;
  /** The provider simulator's counters (`GET /_sim/stats`). */
  providerStats(): Promise<Record<string, unknown> | null>;
  /** Polls `check` until it returns a value (not false/undefined) or `timeoutMs` passes (then null). */
  waitFor<T>(check: () => Promise<T | false | undefined>, timeoutMs: number, intervalMs?: number): Promise<T | null>;
  /** The settings the platform was started with, so a rollback can put an instance back as it was. */
  baseEnv(instance: string): Record<string, string>;
}

/** `waitFor` for any driver. */
export async function pollUntil<T>(check: () => Promise<T | false | undefined>, timeoutMs: number, intervalMs = 200): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

import type { LoadResult, LoadTarget, OpenLoadOptions, PreparedConversations } from '../../loadtest/generator.ts';
import type { BrokerFaultRecord, Instance, KillRecord, PlatformDriver, ProviderFault } from '../driver.ts';
import type { EngineClock } from '../engine-clock.ts';
import type { Workload } from '../experiment-spec.ts';
import type { LoadPort, Sampler, SamplerFactory } from '../run-context.ts';
import type { Sample } from '../sampler.ts';

/*
 * Fakes for the engine's unit tests: a clock whose time only moves when something waits on it, a
 * platform driver keeping instances in memory, a load generator that answers from a shape, and a
 * sampler that fills one sample per second of fake time. Nothing sleeps for real.
 */

interface Timer {
  at: number;
  fire: () => void;
}

/**
 * Fake time. `sleep` and `after` register timers; once the microtasks of the moment have run
 * (a `setImmediate` turn), the earliest timer fires and the clock jumps to its time. So a run
 * of minutes takes a few event-loop turns, in the order the waits would end.
 */
export class FakeClock implements EngineClock {
  private t: number;
  private readonly timers: Timer[] = [];
  private scheduled = false;

  constructor(readonly start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Milliseconds of fake time since the start. */
  get elapsed(): number {
    return this.t - this.start;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.t + ms,
        fire: () => {
          signal.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        this.timers.splice(this.timers.indexOf(timer), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', abort, { once: true });
      this.add(timer);
    });
  }

  /** Resolves `ms` of fake time from now. */
  after(ms: number): Promise<void> {
    return new Promise((resolve) => this.add({ at: this.t + ms, fire: resolve }));
  }

  private add(timer: Timer) {
    this.timers.push(timer);
    this.kick();
  }

  private kick() {
    if (this.scheduled || this.timers.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift();
      if (next) {
        this.t = Math.max(this.t, next.at);
        next.fire();
      }
      this.kick();
    });
  }
}

const WORKLOAD_OF: Record<string, Workload> = { broker: 'broker', 'provider-sim': 'provider-sim', api: 'api', 'connector-whatsapp': 'connector-whatsapp', 'connector-instagram': 'connector-instagram' };

/** The platform in memory: instances named like the local driver's, each call logged in `calls`. */
export class FakeDriver implements PlatformDriver {
  readonly kind = 'local' as const;
  readonly target = { apiUrl: 'http://127.0.0.1:1', simUrl: 'http://127.0.0.1:2' };
  readonly partitions = 12;
  /** Every action on the platform, in order (`kill router-1 KILL`, `scale router 2`…). */
  readonly calls: string[] = [];
  /** Calls the provider refuses during each outage (what `/_sim/stats` shows). */
  refusalsPerOutage = 5;
  /** Makes the next call of that method throw. */
  readonly failNext = new Set<'scale' | 'kill' | 'setProviderFault'>();
  private readonly instances = new Map<string, Instance>();
  private nextPid = 1000;
  private provider: ProviderFault | null = null;
  private refused = 0;

  constructor(
    private readonly clock: EngineClock,
    routers = 2,
  ) {
    for (let i = 1; i <= routers; i++) this.run(`router-${i}`, 'router');
    for (const [name, workload] of Object.entries(WORKLOAD_OF)) this.run(name, workload);
  }

  async listInstances(workload?: Workload): Promise<Instance[]> {
    return [...this.instances.values()].filter((i) => !workload || i.workload === workload).map((i) => ({ ...i }));
  }

  async kill(instance: string, signal: 'KILL' | 'TERM'): Promise<KillRecord> {
    this.calls.push(`kill ${instance} ${signal}`);
    this.maybeFail('kill');
    const i = this.instances.get(instance);
    if (!i) throw new Error(`no instance ${instance}`);
    const pid = i.pid;
    i.state = 'killed';
    i.pid = null;
    const at = this.clock.now();
    return { instance, pid, signal, at, gone_at: at, proof: `pid ${pid} of ${instance} is gone (SIG${signal})` };
  }

  async start(instance: string, options: { env?: Record<string, string> } = {}): Promise<Instance> {
    this.calls.push(`start ${instance}${options.env ? ` ${JSON.stringify(options.env)}` : ''}`);
    const i = this.instances.get(instance);
    if (!i) throw new Error(`no instance ${instance}`);
    return { ...this.run(instance, i.workload) };
  }

  async scale(workload: Workload, replicas: number, options: { env?: Record<string, string> } = {}): Promise<Instance[]> {
    this.calls.push(`scale ${workload} ${replicas}${options.env && Object.keys(options.env).length ? ` ${JSON.stringify(options.env)}` : ''}`);
    this.maybeFail('scale');
    for (let n = 1; n <= Math.max(replicas, 64); n++) {
      const name = `${workload}-${n}`;
      const cur = this.instances.get(name);
      if (n <= replicas && cur?.state !== 'running') this.run(name, workload);
      if (n > replicas && cur?.state === 'running') cur.state = 'stopped';
    }
    return this.listInstances(workload);
  }

  async setProviderFault(channel: 'whatsapp' | 'instagram', fault: ProviderFault | null): Promise<{ at: number; proof: string }> {
    this.calls.push(`provider ${channel} ${JSON.stringify(fault)}`);
    this.maybeFail('setProviderFault');
    if (channel === 'whatsapp') {
      if (this.provider?.down && !fault?.down) this.refused += this.refusalsPerOutage;
      this.provider = fault;
    }
    return { at: this.clock.now(), proof: `POST /_sim/faults → ${JSON.stringify({ down: fault?.down ?? false, error_rate: fault?.error_rate ?? 0 })}` };
  }

  async setBrokerFault(action: 'down' | 'up' | 'restart'): Promise<BrokerFaultRecord> {
    this.calls.push(`broker ${action}`);
    const at = this.clock.now();
    if (action === 'down') return { action, at, proof: 'connect 127.0.0.1:9092: ECONNREFUSED' };
    if (action === 'up') return { action, at, proof: 'the broker accepts connections' };
    const old = this.instances.get('broker')!.pid;
    const now = this.run('broker', 'broker').pid;
    return { action, at, proof: `broker pid ${old} → ${now}`, old_pid: old, new_pid: now };
  }

  /** A running router's `/metrics`: an even share of the partitions over the running routers. */
  async scrape(instance: string): Promise<string | null> {
    const i = this.instances.get(instance);
    if (i?.state !== 'running') return null;
    if (i.workload !== 'router') return '';
    const routers = [...this.instances.values()].filter((r) => r.workload === 'router' && r.state === 'running').map((r) => r.name);
    const k = routers.indexOf(instance);
    const share = Math.floor(this.partitions / routers.length) + (k < this.partitions % routers.length ? 1 : 0);
    return `kafka_consumer_assigned_partitions{topic="chat4all.messages.accepted"} ${share}\n`;
  }

  async providerStats(): Promise<Record<string, unknown>> {
    const down = this.refused + (this.provider?.down ? this.refusalsPerOutage : 0);
    return { whatsapp: { requests: 0, accepted: 0, faults: { down, error: 0 } } };
  }

  /** Checks a few times on the spot (no waiting): the fake platform settles at once or never. */
  async waitFor<T>(check: () => Promise<T | false | undefined>): Promise<T | null> {
    for (let i = 0; i < 3; i++) {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    }
    return null;
  }

  baseEnv(): Record<string, string> {
    return {};
  }

  private run(name: string, workload: Workload): Instance {
    const i: Instance = { name, workload, state: 'running', pid: this.nextPid++, url: `http://127.0.0.1/${name}`, started_at: this.clock.now() };
    this.instances.set(name, i);
    return i;
  }

  private maybeFail(what: 'scale' | 'kill' | 'setProviderFault') {
    if (this.failNext.delete(what)) throw new Error(`${what} failed (fake)`);
  }
}

/**
 * A load generator that answers at once for probe loads and after `durationMs` of fake time for the
 * main load. `delivered(t)` is the share of second `t`'s messages delivered in that second.
 */
export class FakeLoad implements LoadPort {
  readonly runs: OpenLoadOptions[] = [];
  /** Share delivered during probe loads (the steady state before). */
  probeDelivered = 1;
  delivered: (t: number) => number = () => 1;
  lost = 0;
  /** Makes the next `prepare` fail. */
  prepareFailures = 0;

  constructor(private readonly clock: FakeClock) {}

  async prepare(_target: LoadTarget, conversations: number): Promise<PreparedConversations> {
    if (this.prepareFailures > 0) {
      this.prepareFailures--;
      throw new Error('POST /auth/register answered 503');
    }
    return { conversations: Array.from({ length: conversations }, (_, i) => ({ conversationId: `c${i}`, token: `t${i}`, to: `+55${i}`, channel: 'whatsapp' as const })) };
  }

  async run(options: OpenLoadOptions): Promise<LoadResult> {
    this.runs.push(options);
    const main = options.onProgress !== undefined;
    const start = this.clock.now();
    const rate = typeof options.rate === 'number' ? options.rate : options.rate(0);
    const seconds = Math.round(options.durationMs / 1000);
    const timeline = Array.from({ length: seconds }, (_, t) => {
      const delivered = Math.round(rate * (main ? this.delivered(t) : this.probeDelivered));
      return { t_s: t, offered_per_s: rate, accepted_per_s: rate, failed_per_s: 0, delivered_per_s: delivered, http_p99_ms: 5, e2e_p50_ms: 20, e2e_p99_ms: 40 };
    });
    if (main) {
      options.onProgress!({ elapsed_ms: 0, offered: 0, accepted: 0, failed: 0, delivered: 0, in_flight: 0 });
      await this.clock.after(options.durationMs);
    }
    const offered = rate * seconds;
    const delivered = timeline.reduce((a, p) => a + p.delivered_per_s, 0);
    const latency = { p50: 20, p95: 30, p99: 40, max: 50 };
    return {
      offered,
      accepted: offered,
      failed: 0,
      dropped_by_client: 0,
      delivered: main ? offered - this.lost : delivered,
      lost: main ? this.lost : 0,
      duplicates: 0,
      out_of_order: 0,
      answers: { '202': offered },
      http_ms: latency,
      e2e_ms: latency,
      accepted_per_s: rate,
      delivered_per_s: rate,
      timeline,
      accepted_ids: [],
      started_at: new Date(start).toISOString(),
      ended_at: new Date(this.clock.now()).toISOString(),
      run_id: 'fake',
      duration_ms: options.durationMs,
      offered_rate: rate,
      delivered_not_accepted: 0,
      lost_sample: [],
      max_schedule_lag_ms: 0,
      poll_errors: 0,
      aborted: false,
      connections: 1,
      max_in_flight: 1,
    };
  }
}

/**
 * A sampler that, when stopped, returns one sample per second of fake time since it started;
 * `shape(t)` (seconds since the start) fills in what the platform's metrics would show.
 */
export function fakeSampler(clock: FakeClock, shape: (t: number) => Partial<Sample> = () => ({})): SamplerFactory {
  return (): Sampler => {
    const start = clock.now();
    const at = (ms: number): Sample => ({ at: ms, processes: [], routers: {}, connectors: {}, api: { accepted: null }, lag: {}, lag_sum: null, provider: null, load: null, ...shape((ms - start) / 1000) });
    return {
      now: async () => at(clock.now()),
      stop: async () => Array.from({ length: Math.floor((clock.now() - start) / 1000) + 1 }, (_, i) => at(start + i * 1000)),
    };
  };
}

import { GROUPS, TOPICS } from '../services/core/topics.ts';
import type { LoadProgress } from '../loadtest/generator.ts';
import type { PlatformDriver } from './driver.ts';
import { maxOf, parsePromText, sumOf } from '../services/core/prom-text.ts';

/** What the platform looked like at one moment (one per second during a run). */
export interface Sample {
  /** Epoch ms. */
  at: number;
  processes: { name: string; workload: string; state: string; pid: number | null }[];
  routers: Record<string, { assigned: number | null; routed: number | null; rebalances: number | null }>;
  connectors: Record<string, { breaker_state: number | null; breaker_opens: number | null; waiting: number | null; sent_ok: number | null }>;
  api: { accepted: number | null };
  /** The routers' consumer-group lag on the accepted-messages topic, per partition (as the routers export it). */
  lag: Record<string, number>;
  lag_sum: number | null;
  provider: { requests: number; accepted: number; refused_down: number } | null;
  /** The load generator's counters at this moment (cumulative). */
  load: LoadProgress | null;
}

/** Samples every second until stopped; never throws (a process that does not answer is recorded as such). */
export function startSampler(driver: PlatformDriver, channel: 'whatsapp' | 'instagram', progress: () => LoadProgress | null, intervalMs = 1000) {
  const samples: Sample[] = [];
  let busy = false;
  const take = async (): Promise<Sample> => {
    const instances = await driver.listInstances();
    const at = Date.now();
    const scraped = await Promise.all(instances.map(async (i) => [i, i.url && i.state === 'running' ? await driver.scrape(i.name) : null] as const));
    const s: Sample = {
      at,
      processes: instances.map((i) => ({ name: i.name, workload: i.workload, state: i.state, pid: i.pid })),
      routers: {},
      connectors: {},
      api: { accepted: null },
      lag: {},
      lag_sum: null,
      provider: null,
      load: progress(),
    };
    for (const [inst, text] of scraped) {
      const m = text === null ? null : parsePromText(text);
      if (inst.workload === 'router') {
        s.routers[inst.name] = {
          assigned: sumOf(m, 'kafka_consumer_assigned_partitions', { topic: TOPICS.accepted }),
          routed: sumOf(m, 'messages_processed_total', { status: 'routed' }),
          rebalances: sumOf(m, 'kafka_consumer_rebalances_total'),
        };
        for (const x of m ?? []) {
          if (x.name === 'kafka_consumergroup_lag' && x.labels.consumergroup === GROUPS.router && x.labels.topic === TOPICS.accepted && x.labels.partition !== undefined) {
            s.lag[x.labels.partition] = Math.max(s.lag[x.labels.partition] ?? 0, x.value);
          }
        }
      } else if (inst.workload.startsWith('connector-')) {
        const ch = inst.workload.slice('connector-'.length);
        s.connectors[inst.name] = {
          breaker_state: maxOf(m, 'circuit_breaker_state', { channel: ch }),
          breaker_opens: sumOf(m, 'circuit_breaker_transitions_total', { channel: ch, to: 'open' }),
          waiting: sumOf(m, 'connector_deliveries_waiting', { channel: ch }),
          sent_ok: sumOf(m, 'messages_sent_total', { channel: ch, status: 'success' }),
        };
      } else if (inst.workload === 'api') {
        s.api.accepted = sumOf(m, 'messages_accepted_total');
      }
    }
    const parts = Object.values(s.lag);
    s.lag_sum = parts.length ? parts.reduce((a, b) => a + b, 0) : null;
    const stats = await driver.providerStats();
    const c = stats?.[channel] as { requests?: number; accepted?: number; faults?: { down?: number } } | undefined;
    if (c) s.provider = { requests: c.requests ?? 0, accepted: c.accepted ?? 0, refused_down: c.faults?.down ?? 0 };
    return s;
  };
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      samples.push(await take());
    } catch {
      // a sample that could not be taken is a gap in the series
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  return {
    samples,
    /** Takes one sample now (outside the schedule). */
    now: take,
    async stop(): Promise<Sample[]> {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 20));
      return samples;
    },
  };
}

import { TOPICS } from '../services/core/topics.ts';
import type { PlatformDriver } from './driver.ts';

const ASSIGNED = new RegExp(`^kafka_consumer_assigned_partitions\\{[^}]*topic="${TOPICS.accepted.replace(/\./g, '\\.')}"[^}]*\\}\\s+(\\S+)`, 'm');

/** Partitions of the accepted topic the instance says it owns (its `/metrics`), or null when it does not answer. */
export async function assigned(driver: PlatformDriver, name: string): Promise<number | null> {
  const text = await driver.scrape(name);
  if (text === null) return null;
  const m = ASSIGNED.exec(text);
  return m ? Number(m[1]) : null;
}

/** True once the running routers together own every partition of the accepted topic, each some. */
export async function routersOwnEverything(driver: PlatformDriver): Promise<boolean> {
  const running = (await driver.listInstances('router')).filter((i) => i.state === 'running');
  const owned = await Promise.all(running.map((r) => assigned(driver, r.name)));
  return running.length > 0 && owned.every((n) => (n ?? 0) > 0) && owned.reduce<number>((a, n) => a + (n ?? 0), 0) === driver.partitions;
}

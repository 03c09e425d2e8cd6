import type { PreparedConversations } from '../../loadtest/generator.ts';
import type { Instance } from '../driver.ts';
import { routersOwnEverything } from '../router-partitions.ts';
import type { RunContext } from '../run-context.ts';

/**
 * Prepare: the target's settings (its instances restarted with them) and replicas, a settled
 * consumer group (every partition of the accepted topic has a router), and the conversations.
 */
export async function prepare(ctx: RunContext, original: Instance[], readyTimeoutMs: number): Promise<PreparedConversations> {
  const { spec, driver } = ctx;
  const env = spec.target.env;
  if (Object.keys(env).length > 0) {
    for (const i of original.filter((x) => x.workload === spec.target.workload && x.state === 'running')) {
      await driver.kill(i.name, 'TERM');
      await driver.start(i.name, { env });
    }
    ctx.step('prepare', `${spec.target.workload} restarted with ${Object.keys(env).join(', ')}`);
  }
  ctx.checkAborted();
  if (spec.target.replicas !== undefined && spec.target.workload === 'router') {
    await driver.scale('router', spec.target.replicas, { env });
    ctx.step('prepare', `router scaled to ${spec.target.replicas}`);
  }
  // Whatever the target, a run starts from a settled consumer group (no rebalance under the probes).
  const ready = await driver.waitFor(async () => routersOwnEverything(driver), readyTimeoutMs, 250);
  if (!ready) throw new Error('the routers did not come to own every partition before the load');
  ctx.step('ready', 'every partition of the accepted topic has a router');
  ctx.checkAborted();
  let prepared: PreparedConversations | null = null;
  for (let attempt = 1; !prepared; attempt++) {
    try {
      prepared = await ctx.deps.load.prepare(driver.target, spec.load.conversations);
    } catch (err) {
      // Set-up is not the experiment: a refused registration is retried, and noted.
      if (attempt >= 3) throw err;
      ctx.notes.push(`preparing conversations failed once and was retried: ${(err as Error).message}`);
      await ctx.sleep(1000);
    }
  }
  ctx.step('prepare', `${spec.load.conversations} conversations ready`);
  ctx.checkAborted();
  return prepared;
}

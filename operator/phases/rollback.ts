import type { Instance } from '../driver.ts';
import type { Journal, MethodStep } from '../journal.ts';
import type { RunContext } from '../run-context.ts';

/**
 * The rollback, always (also after an error or an interruption), as far as `spec.rollback` asks:
 * provider faults cleared, brokers up, the router replicas of `original` (extra ones stopped), the
 * target's settings restored, stopped instances started. Each step is tried on its own; what
 * failed is listed, never thrown.
 */
export async function rollBack(ctx: RunContext, original: Instance[]): Promise<Journal['rollback']> {
  const { spec, driver, clock } = ctx;
  const env = spec.target.env;
  const hasEnv = Object.keys(env).length > 0;
  const steps: MethodStep[] = [];
  const errors: string[] = [];
  const step = (s: string, detail?: string) => {
    const at = clock.now();
    steps.push({ at: new Date(at).toISOString(), t_s: ctx.ts(at), step: s, ...(detail ? { detail } : {}) });
    ctx.event({ kind: 'step', message: `rollback: ${s}${detail ? `: ${detail}` : ''}` });
  };
  const attempt = async (what: string, fn: () => Promise<string | void>) => {
    try {
      const detail = await fn();
      step(what, detail || undefined);
    } catch (err) {
      errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      step(what, `FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  if (spec.rollback.provider_up) {
    for (const ch of ['whatsapp', 'instagram'] as const) await attempt(`provider ${ch} faults cleared`, async () => void (await driver.setProviderFault(ch, null)));
  }
  if (spec.rollback.broker_up) await attempt('brokers up', async () => (await driver.setBrokerFault('up')).proof);
  const restoreEnv: Record<string, string> = {};
  if (spec.rollback.restore_env && hasEnv) {
    const base = driver.baseEnv(spec.target.workload);
    for (const k of Object.keys(env)) restoreEnv[k] = base[k] ?? '';
  }
  if (spec.rollback.restore_replicas) {
    const want = original.filter((i) => i.state === 'running');
    const routers = want.filter((i) => i.workload === 'router').length;
    if (routers > 0) {
      await attempt(`router replicas restored to ${routers}`, async () => {
        if (hasEnv && spec.target.workload === 'router') {
          for (const i of (await driver.listInstances('router')).filter((x) => x.state === 'running')) await driver.kill(i.name, 'TERM');
        }
        const now = await driver.scale('router', routers, { env: restoreEnv });
        return now.filter((i) => i.state === 'running').map((i) => `${i.name} pid ${i.pid}`).join(', ');
      });
    }
    for (const i of want.filter((x) => x.workload !== 'router')) {
      const cur = (await driver.listInstances()).find((x) => x.name === i.name);
      const needsEnv = hasEnv && spec.target.workload === i.workload;
      if (cur?.state === 'running' && !needsEnv) continue;
      await attempt(`${i.name} started again`, async () => {
        if (cur?.state === 'running') await driver.kill(i.name, 'TERM');
        const s = await driver.start(i.name, needsEnv ? { env: restoreEnv } : {});
        return `pid ${s.pid}`;
      });
    }
  }
  return { ok: errors.length === 0, steps, errors };
}

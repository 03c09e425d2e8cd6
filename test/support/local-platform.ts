import { mkdtempSync, rmSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor, type SupervisorOptions } from '../../services/platform/supervisor.ts';
import { parsePromText, sumOf } from '../../services/core/prom-text.ts';

/** Starts the multi-process local platform in a fresh folder; `stop()` stops every process by its PID. */
export async function startLocalPlatform(options: Partial<SupervisorOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-local-'));
  const supervisor = new Supervisor({
    dataDir,
    routers: 2,
    partitions: 12,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'info',
    ...options,
    env: { SCRYPT_COST: '1024', RELAY_INTERVAL_MS: '500', RELAY_AGE_MS: '3000', IN_DOUBT_GRACE_MS: '10000', ...options.env },
  });
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.down();
    keepLogs(dataDir, 'failed-start');
    throw err;
  }
  return {
    supervisor,
    dataDir,
    async stop(label = 'run') {
      await supervisor.down();
      keepLogs(dataDir, label);
      if (process.env.KEEP_PLATFORM_DATA) console.log(`platform data kept in ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Keeps the process logs of a run under test-artifacts/, for a look after a failure. */
function keepLogs(dataDir: string, label: string) {
  const dest = join('test-artifacts', 'platform-logs', `${label}-${Date.now()}`);
  mkdirSync(dest, { recursive: true });
  cpSync(join(dataDir, 'logs'), dest, { recursive: true });
}

/** Reads one gauge/counter value (summed over label sets matching `labels`) from a /metrics URL. */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return sumOf(parsePromText(text), name, labels) ?? NaN;
}

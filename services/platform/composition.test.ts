import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { startEmbeddedPlatform } from './embedded-platform.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings that differ from every default, so a value the wiring drops or hard-codes shows. */
const ENV = {
  STORE_DRIVER: 'memory',
  BUS_DRIVER: 'memory',
  API_PORT: '0',
  ROUTER_PORT: '0',
  CONNECTORS_PORT: '0',
  GATEWAY_PORT: '0',
  SCRYPT_COST: '1024',
  RELAY_INTERVAL_MS: '777',
  RELAY_AGE_MS: '4321',
  KAFKA_PARTITIONS: '7',
  CONSUMER_CONCURRENCY: '3',
  CONSUMER_KEY_CONCURRENCY: '5',
  WEBHOOK_INTERVAL_MS: '333',
  WEBHOOK_TIMEOUT_MS: '4444',
  WEBHOOK_RETRY_HOURS: '2',
  CONNECTOR_CHANNELS: 'instagram',
  ROUTER_EMULATED_STORE_LATENCY_MS: '0',
  ROUTER_EMULATED_STORE_CONNECTIONS: '9',
};

/**
 * Starts `services/<service>/main.ts` as its own process (as `make up` and the image do), returns
 * the settings its composition root logged at start, and stops it with SIGTERM.
 */
async function settingsOfProcess(service: 'router' | 'connectors', dataDir: string): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'services', service, 'main.ts')], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...ENV, DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; settings?: unknown };
      if (entry.msg === `${service} running`) return entry.settings;
    }
    throw new Error(`${service} exited before it said it was running: ${stderr}`);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `${service} did not stop cleanly: ${stderr}`);
  }
}

test('the embedded platform wires the router and the connectors exactly as their own processes do', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-compose-'));
  try {
    const [router, connectors] = await Promise.all([settingsOfProcess('router', dataDir), settingsOfProcess('connectors', dataDir)]);
    const platform = await startEmbeddedPlatform(loadConfig({ ...ENV, DATA_DIR: dataDir }), { logger: createLogger('platform', 'silent') });
    try {
      assert.deepEqual(platform.settings.router, router);
      assert.deepEqual(platform.settings.connectors, connectors);
      // The two that used to drift: the webhook dispatcher's pace and the relay's partitions.
      assert.equal(platform.settings.router.webhooks.intervalMs, 333);
      assert.equal(platform.settings.router.relay.partitions, 7);
      assert.deepEqual(platform.settings.connectors.channels, ['instagram']);
    } finally {
      await platform.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

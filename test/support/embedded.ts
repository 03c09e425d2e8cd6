import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../services/core/config.ts';
import { createLogger } from '../../services/core/logger.ts';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../../services/platform/embedded-platform.ts';

/** Starts the one-process platform with the simulator on free loopback ports and a fresh data folder. */
export async function startTestPlatform(env: Record<string, string> = {}): Promise<EmbeddedPlatform & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat4all-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    API_PORT: '0',
    ROUTER_PORT: '0',
    CONNECTORS_PORT: '0',
    GATEWAY_PORT: '0',
    SIM_PORT: '0',
    START_SIMULATOR: 'true',
    SCRYPT_COST: '1024',
    RELAY_INTERVAL_MS: '200',
    RELAY_AGE_MS: '2000',
    // Callbacks a test waits for leave soon after the status change.
    WEBHOOK_INTERVAL_MS: '200',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests link identities and expect them to receive at once (no one-time code round trip).
    IDENTITY_VERIFICATION: 'off',
    ...env,
  });
  const platform = await startEmbeddedPlatform(config, { logger: createLogger('platform', config.logLevel) });
  return {
    ...platform,
    dataDir,
    async stop() {
      await platform.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

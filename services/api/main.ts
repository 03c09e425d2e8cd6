/**
 * The API service on its own: `tsx services/api/main.ts`. Reads the environment (see
 * services/core/config.ts), serves on API_HOST:API_PORT and stops cleanly on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { buildAdapters } from '../core/build-adapters.ts';
import { ConfigError, loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { createApp } from './app.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('api', config.logLevel);
  if (config.devSecretsInUse.length > 0) {
    logger.warn(
      { secrets: config.devSecretsInUse },
      `DEV PROFILE: built-in secrets in use for ${config.devSecretsInUse.join(', ')}; never expose this instance (set them, or CHAT4ALL_PROFILE=production)`,
    );
  }

  const { store, bus, clock } = await buildAdapters(config);
  const app = createApp({ config, store, bus, clock, logger, registry: createRegistry('api') });
  const server = app.listen(config.apiPort, config.apiHost);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  logger.info({ url }, 'api listening');
  console.log(`Chat4All API listening on ${url} (docs: ${url}/docs)`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new connections, finishing requests in flight');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Requests still running after the grace period are cut so the process does exit.
    const grace = setTimeout(() => server.closeAllConnections(), 10_000);
    grace.unref();
    closed
      .then(() => Promise.allSettled([store.close(), bus.close()]))
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { loadConfig, ConfigError } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { startEmbeddedPlatform } from './embedded-platform.ts';

/** Everything in one process on the in-memory bus (`make up-embedded`): no broker, quickest start. */
async function main() {
  let config;
  try {
    // As with `make up`: links are active at once unless IDENTITY_VERIFICATION=on.
    config = loadConfig(process.env, { startSimulator: process.env.START_SIMULATOR ?? 'true', identityVerification: process.env.IDENTITY_VERIFICATION ?? 'off' });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('platform', config.logLevel);
  if (config.devSecretsInUse.length > 0) {
    logger.warn(
      { secrets: config.devSecretsInUse },
      `DEV PROFILE: built-in development secrets are in use (${config.devSecretsInUse.join(', ')}); anyone can mint tokens and sign webhooks with them: never expose this platform`,
    );
  }
  const platform = await startEmbeddedPlatform(config, { logger, localS3: true });
  const lines = [
    '',
    'Chat4All is up (embedded defaults: in-memory bus, SQLite at ' + config.sqlitePath + ')',
    `  API            ${platform.apiUrl}   (OpenAPI: ${platform.apiUrl}/openapi.json, docs: ${platform.apiUrl}/docs)`,
    `  object store   ${platform.s3Url}   (local S3 in this process; see docs/files.md)`,
    `  provider sim   ${platform.simUrl ?? '(external)'}   (admin: /_sim/received, /_sim/faults)`,
    `  connectors     ${platform.connectorsUrl}   (webhooks: /webhooks/whatsapp, /webhooks/instagram)`,
    `  router         ${platform.routerUrl}/metrics`,
    `  web client     ${platform.apiUrl}/app   (connects to GATEWAY_PUBLIC_URL; see docs/web-client.md)`,
    `  push gateway   ${platform.streamUrl}   (WebSocket; see docs/realtime.md)`,
    '',
    'Try it:',
    `  npx chat4all demo --api ${platform.apiUrl}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`chat4all: could not start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

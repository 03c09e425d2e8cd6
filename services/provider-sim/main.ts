import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig } from './config.ts';
import { createProviderSim } from './sim.ts';

const logger = pino({ name: 'provider-sim', level: process.env.SIM_LOG_LEVEL ?? 'info' });

function loadConfigOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(process.env);
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(1);
  }
}

const config = loadConfigOrExit();
if (config.devSecrets.length > 0) {
  logger.warn({ variables: config.devSecrets }, 'USING DEV DEFAULT SECRETS: never expose this simulator beyond a dev machine');
}

const sim = createProviderSim({
  appSecret: config.SIM_APP_SECRET,
  accessToken: config.SIM_ACCESS_TOKEN,
  webhookUrls: {
    ...(config.SIM_WEBHOOK_WHATSAPP_URL ? { whatsapp: config.SIM_WEBHOOK_WHATSAPP_URL } : {}),
    ...(config.SIM_WEBHOOK_INSTAGRAM_URL ? { instagram: config.SIM_WEBHOOK_INSTAGRAM_URL } : {}),
  },
  mediaFetchTimeoutMs: config.SIM_MEDIA_FETCH_TIMEOUT_MS,
  logger,
});

const server = createServer(sim.handler).listen(config.SIM_PORT, config.SIM_HOST, () => {
  const { address, port } = server.address() as AddressInfo;
  logger.info({ url: `http://${address}:${port}`, webhookUrls: sim.state.config.webhookUrls }, 'provider simulator listening');
});
server.on('error', (err) => {
  logger.fatal({ err }, 'provider simulator failed to listen');
  process.exit(1);
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'provider simulator stopping');
  await sim.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

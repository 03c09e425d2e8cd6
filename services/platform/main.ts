import { randomBytes } from 'node:crypto';
import { rmSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Supervisor } from './supervisor.ts';
import { controlRoutes, createControlApp } from './control-server.ts';
import { platformStatePath, writePlatformState } from './platform-state.ts';
import { processTable } from './status-view.ts';
import { LiveSampler } from './live-view-sampler.ts';
import { liveViewRoutes } from './live-view.ts';
import { listen } from '../core/listen.ts';

/**
 * `make up`: the whole platform as separate processes on loopback — dev Kafka broker, local S3, provider
 * simulator, two connectors, two routers, the API and two push gateways — with a control API for the CLI.
 */
async function main() {
  const dataDir = resolve(process.env.DATA_DIR ?? '.data');
  mkdirSync(dataDir, { recursive: true });
  const supervisor = new Supervisor({
    dataDir,
    routers: Number(process.env.ROUTERS ?? 2),
    gateways: Number(process.env.GATEWAYS ?? 2),
    gatewayPort: Number(process.env.GATEWAY_PORT ?? 8081),
    partitions: Number(process.env.KAFKA_PARTITIONS ?? 12),
    apiPort: Number(process.env.API_PORT ?? 8080),
    simPort: Number(process.env.SIM_PORT ?? 9300),
    s3Port: Number(process.env.S3_PORT ?? 9000),
    logLevel: process.env.LOG_LEVEL ?? 'info',
    env: process.env.IDENTITY_VERIFICATION ? { IDENTITY_VERIFICATION: process.env.IDENTITY_VERIFICATION } : {},
  });
  const tty = process.stdout.isTTY;
  process.stdout.write('starting Chat4All: dev broker, local S3, provider simulator, connectors, routers, API, push gateways …\n');
  if (!tty) supervisor.on('change', (p) => process.stdout.write(`[platform] ${p.name} ${p.state}${p.pid ? ` pid=${p.pid}` : ''}\n`));

  let shuttingDown = false;
  // Declared before `shutdown`, which a Ctrl-C may call while the platform is still starting.
  let timer: NodeJS.Timeout | null = null;
  let sampler: LiveSampler | null = null;
  const shutdown = async (why: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    if (timer) clearInterval(timer);
    await sampler?.stop();
    process.stdout.write(`\nstopping (${why}) …\n`);
    await supervisor.down();
    rmSync(platformStatePath(dataDir), { force: true });
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await supervisor.start();
  } catch (err) {
    process.stderr.write(`could not start the platform: ${(err as Error).message}\n`);
    await supervisor.down();
    process.exit(1);
  }
  // The live view samples every process's /metrics once a second (see live-view-sampler.ts).
  sampler = new LiveSampler({ processes: () => supervisor.ps() }).start();
  // A new token per start, only in the owner-only state file: `chat4all platform …` reads it there.
  const token = randomBytes(32).toString('base64url');
  const app = createControlApp({ token, routes: liveViewRoutes(sampler), control: controlRoutes(supervisor, () => void shutdown('platform down')) });
  const control = await listen(app, '127.0.0.1', Number(process.env.CONTROL_PORT ?? 8079));
  writePlatformState(dataDir, { control_url: `${control.url}/control`, control_token: token, pid: process.pid, api_url: supervisor.apiUrl, stream_urls: supervisor.streamUrls });

  const header = [
    '',
    'Chat4All is up (dev profile: built-in secrets; SQLite in ' + dataDir + ')',
    `  API            ${supervisor.apiUrl}   (docs: ${supervisor.apiUrl}/docs, OpenAPI: ${supervisor.apiUrl}/openapi.json)`,
    `  web client     ${supervisor.apiUrl}/app   (log in, chat live; see docs/web-client.md)`,
    `  push gateway   ${supervisor.streamUrls.join('   ')}   (WebSocket; see docs/realtime.md)`,
    `  object store   ${supervisor.s3Url}   (s3rver, bucket chat4all-files, data in ${join(dataDir, 's3')}; see docs/files.md)`,
    `  provider sim   ${supervisor.simUrl}   (what it received: ${supervisor.simUrl}/_sim/received)`,
    `  Kafka (dev)    ${supervisor.bootstrap.join(',')}`,
    `  live view      ${control.url}/   (rates, latency, lag, breakers, processes; every second)`,
    `  logs           ${join(dataDir, 'logs')}`,
    `  reports        ${resolve('reports')}`,
    '',
    'Try it:   npx chat4all demo',
    'Operate:  npx chat4all platform ps | kill <name> [--signal KILL|TERM] | start <name> | scale router=<n> | down',
    `          (the control API needs the token in ${platformStatePath(dataDir)}, owner-only; the CLI reads it)`,
    '',
  ].join('\n');
  if (tty) {
    const draw = () => process.stdout.write(`\x1b[2J\x1b[H${header}\n${processTable(supervisor.ps())}\n\nCtrl-C stops everything.\n`);
    draw();
    timer = setInterval(draw, 1000);
  } else {
    process.stdout.write(`${header}\n${processTable(supervisor.ps())}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`chat4all: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

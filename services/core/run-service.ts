import { ConfigError, loadConfig, type Config, type ServiceKind } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

export interface Running {
  /** Finish work in hand, commit, leave groups, close stores. */
  stop(): Promise<void>;
}

/**
 * The shape of every `main.ts`: read the config (report every problem, exit 2), warn loudly
 * about dev secrets, start, and stop gracefully on SIGTERM/SIGINT (exit 0), bounded in time.
 */
export function runService(service: Exclude<ServiceKind, 'platform'>, start: (config: Config, logger: Logger) => Promise<Running>): void {
  let config: Config;
  try {
    // The service is known here, not from the environment: it decides which secrets are required.
    config = loadConfig(process.env, { service });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(process.env.SERVICE_NAME ?? service, config.logLevel);
  if (config.devSecretsInUse.length > 0) {
    logger.warn(
      { secrets: config.devSecretsInUse },
      `DEV PROFILE: built-in development secrets are in use (${config.devSecretsInUse.join(', ')}); anyone can mint tokens and sign webhooks with them: never expose this instance, and set CHAT4ALL_PROFILE=production with real secrets outside a laptop`,
    );
  }
  // Signals are taken from the first moment: one that comes while the service starts (a pod
  // deleted during start-up) stops it once started, instead of killing it half-way.
  const started = start(config, logger);
  stopOnSignals(
    {
      async stop() {
        await (await started).stop();
      },
    },
    logger,
    20_000,
  );
  started.catch((err: unknown) => {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  });
}

/**
 * Stops `running` on the first SIGTERM/SIGINT and exits 0 (1 when the stop fails, or takes
 * longer than `deadlineMs`: the process must not outlive its pod's grace period).
 */
export function stopOnSignals(running: Running, logger: Logger, deadlineMs: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error({ deadline_ms: deadlineMs }, 'graceful stop took too long; exiting');
      process.exit(1);
    }, deadlineMs).unref();
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

}

import { ConfigError } from '../services/core/config.ts';
import { createLogger } from '../services/core/logger.ts';
import { stopOnSignals } from '../services/core/run-service.ts';
import { loadOperatorConfig, type OperatorConfig } from './operator-config.ts';
import { loadKubeConfig, startOperator } from './operator.ts';

/*
 * The experiment operator's process (`node dist/operator/main.js` in the chart's operator
 * Deployment): settings → Kubernetes client → operator; SIGTERM/SIGINT interrupt a running
 * experiment (the engine rolls back), release the Lease and exit 0.
 */

/** Below the pod's terminationGracePeriodSeconds (30): a stop that takes longer exits anyway. */
const STOP_DEADLINE_MS = 25_000;

let config: OperatorConfig;
try {
  config = loadOperatorConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`operator: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger(process.env.SERVICE_NAME ?? 'operator', config.logLevel);

// The Lease expires by itself if the stop does not finish in time.
startOperator(config, { kubeConfig: loadKubeConfig(process.env), logger }).then(
  (running) => stopOnSignals(running, logger, STOP_DEADLINE_MS),
  (err: unknown) => {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  },
);

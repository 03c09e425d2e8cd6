import { logLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from '../../logger.ts';

/**
 * kafkajs' level for a pino level. kafkajs logs at INFO on every connection, join and commit
 * retry, which would drown a service's own lines, so its INFO is heard only when the service
 * logs at debug; its warnings and errors always are.
 */
export function kafkaLogLevel(level: string): logLevel {
  switch (level) {
    case 'silent':
      return logLevel.NOTHING;
    case 'trace':
      return logLevel.DEBUG;
    case 'debug':
      return logLevel.INFO;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    default:
      return logLevel.WARN;
  }
}

/**
 * A kafkajs `logCreator` writing to our pino logger: one JSON line per kafkajs event, with its
 * namespace (`Consumer`, `Connection`, …) and the fields kafkajs attaches (broker, groupId, error…).
 */
export function pinoLogCreator(logger: Logger): logCreator {
  const kafka = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _kafkaLogger, ...fields } = log as LogEntry['log'] & { logger?: unknown };
      const line = { ...fields, namespace };
      switch (level) {
        case logLevel.ERROR:
          kafka.error(line, message);
          break;
        case logLevel.WARN:
          kafka.warn(line, message);
          break;
        case logLevel.INFO:
          kafka.info(line, message);
          break;
        default:
          kafka.debug(line, message);
      }
    };
}

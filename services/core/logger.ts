import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * A JSON logger, one line per event. Child loggers carry `message_id`, `conversation_id`
 * and `trace_id` so one message can be followed across services.
 */
export function createLogger(service: string, level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger bound to one message. */
export function messageLogger(
  logger: Logger,
  m: { message_id: string; conversation_id: string; trace_id?: string },
): Logger {
  return logger.child({ message_id: m.message_id, conversation_id: m.conversation_id, trace_id: m.trace_id });
}

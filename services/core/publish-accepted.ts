import type { Bus } from './ports/bus.ts';
import type { Logger } from './logger.ts';
import type { Message } from './domain/types.ts';
import type { AcceptedRecord } from './records.ts';
import { TOPICS } from './topics.ts';

/** What handing a stored message to the routers needs. */
export interface PublishAcceptedDeps {
  bus: Bus;
  logger: Logger;
  /**
   * How long the caller waits for the bus before answering anyway: the message is durable in the
   * store already and the router's relay publishes what is left. @default 1000
   */
  publishWaitMs?: number;
  /** Called with the publish time in seconds, or with an error when the bus refused. */
  onPublish?: (seconds: number, error?: unknown) => void;
}

/**
 * Hands a message already durable in the store (the outbox) to the routers, on the accepted topic
 * keyed by conversation. Waits at most `publishWaitMs` and never throws: a message the bus did not
 * take is published later by the router's relay, so an accepted message is never lost. Used by
 * the API's send path and by inbound acceptance alike. A message already routed is not published.
 */
export async function publishAccepted(deps: PublishAcceptedDeps, message: Message): Promise<void> {
  if (message.seq !== null || !(await deps.bus.healthy())) return;
  const published = publish(deps, message);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([published, new Promise((r) => (timer = setTimeout(r, deps.publishWaitMs ?? 1000)))]);
  clearTimeout(timer);
}

async function publish(deps: PublishAcceptedDeps, message: Message) {
  const record: AcceptedRecord = {
    message_id: message.message_id,
    conversation_id: message.conversation_id,
    trace_id: message.trace_id,
    accepted_at: message.created_at,
  };
  const started = performance.now();
  try {
    await deps.bus.publish(TOPICS.accepted, [
      { key: message.conversation_id, value: JSON.stringify(record), headers: { trace_id: message.trace_id } },
    ]);
    deps.onPublish?.((performance.now() - started) / 1000);
  } catch (err) {
    // The message is already durable in the store; the relay will publish it.
    deps.onPublish?.((performance.now() - started) / 1000, err);
    deps.logger.warn({ err, message_id: message.message_id, conversation_id: message.conversation_id }, 'publish failed; the relay will retry');
  }
}

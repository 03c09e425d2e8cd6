import type { Subscription } from '../core/ports/bus.ts';
import { GROUPS, TOPICS } from '../core/topics.ts';
import { PoisonRecord, withDeadLetters } from '../core/dead-letters.ts';
import { acceptedRecordSchema, decodeRecord, statusEventSchema } from '../core/records.ts';
import { routeMessage, routeMessages, type RouterDeps } from './route-message.ts';
import { applyStatus, applyStatuses } from './apply-status.ts';
import { startRelay, type RelayOptions } from './relay.ts';

/** Consumer group of the routers: each accepted message is handled by one router. */
export const ROUTER_GROUP = GROUPS.router;
/** Consumer group that applies status events. */
export const STATUS_GROUP = GROUPS.status;

export interface RouterService {
  relay: ReturnType<typeof startRelay>;
  stop(): Promise<void>;
}

/** Starts a router: consumes accepted messages and status events, and runs the outbox relay. */
export async function startRouter(deps: RouterDeps, options: { relay: RelayOptions; concurrency?: number; keyConcurrency?: number }): Promise<RouterService> {
  const subs: Subscription[] = [];
  // The accepted topic's partitions this router owns: it relays only their conversations.
  let owned: ReadonlySet<number> | null = null;
  subs.push(
    await deps.bus.subscribe({
      group: ROUTER_GROUP,
      topics: [TOPICS.accepted],
      concurrency: options.concurrency,
      keyConcurrency: options.keyConcurrency,
      onAssignment: (assignment) => {
        deps.metrics.rebalances.inc();
        for (const [topic, partitions] of Object.entries(assignment)) deps.metrics.assignedPartitions.set({ topic }, partitions.length);
        if (!assignment[TOPICS.accepted]) deps.metrics.assignedPartitions.set({ topic: TOPICS.accepted }, 0);
        owned = new Set(assignment[TOPICS.accepted] ?? []);
      },
      // A fetched batch in one store transaction and one publish; a batch with a record it cannot
      // take (undecodable, a message the store lacks) goes record by record through `handler`.
      batchHandler: async (msgs) => {
        await routeMessages(deps, msgs.map((m) => decodeRecord(acceptedRecordSchema, m.value, 'accepted-message record').message_id));
      },
      handler: withDeadLetters(async (msg) => {
        const record = decodeRecord(acceptedRecordSchema, msg.value, 'accepted-message record');
        if ((await routeMessage(deps, record.message_id)) === 'missing') {
          throw new PoisonRecord(`names message ${record.message_id}, which the store does not have`);
        }
      }, { ...deps, metrics: deps.deadLetterMetrics }),
    }),
  );
  subs.push(
    await deps.bus.subscribe({
      group: STATUS_GROUP,
      topics: [TOPICS.status],
      concurrency: options.concurrency,
      keyConcurrency: options.keyConcurrency,
      // A fetched batch of the gateways' acks and reads in one store call and one publish; a batch
      // with a record it cannot take goes record by record through `handler` (dead letters).
      batchHandler: async (msgs) => {
        await applyStatuses(deps, msgs.map((m) => decodeRecord(statusEventSchema, m.value, 'status event')));
      },
      handler: withDeadLetters(async (msg) => {
        const event = decodeRecord(statusEventSchema, msg.value, 'status event');
        const applied = await applyStatus(deps, event);
        deps.logger.debug({ trace_id: msg.headers.trace_id, delivery_id: event.delivery_id, status: event.status, applied }, 'status event handled');
      }, { ...deps, metrics: deps.deadLetterMetrics }),
    }),
  );
  const relay = startRelay(deps, { owned: () => owned, ...options.relay });
  return {
    relay,
    async stop() {
      await relay.stop();
      await Promise.all(subs.map((s) => s.stop()));
    },
  };
}

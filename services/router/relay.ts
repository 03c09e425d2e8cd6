import { isoAt } from '../core/ports/clock.ts';
import { connectorGroup, deliveryTopic, GROUPS, TOPICS } from '../core/topics.ts';
import { partitionFor } from '../core/partitioner.ts';
import type { OffsetReader } from '../core/consumer-lag.ts';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { BusPositions, type Watched } from './bus-positions.ts';
import type { AcceptedRecord } from '../core/records.ts';
import { dispatch, isExternal, type RouterDeps } from './route-message.ts';
import { startPeriodic } from '../core/periodic.ts';

export interface RelayOptions {
  /** How often to look. */
  intervalMs: number;
  /** How old an unhandled record must be before it is published again. */
  ageMs: number;
  /** How many records per look. @default 500 */
  batch?: number;
  /**
   * Reads the consumer groups' offsets (Kafka). With it, a record still queued ahead of its
   * consumer is left alone however old it is: only what the consumer went past, or what the
   * broker lost, is published again. Without it, age alone decides.
   */
  positions?: OffsetReader;
  /** Partitions of the topics, to find a conversation's partition. @default 12 */
  partitions?: number;
  /**
   * The partitions of the accepted topic this router owns, or null for all. A conversation is
   * relayed only by the router that owns its partition, so routers do not relay the same records.
   */
  owned?: () => ReadonlySet<number> | null;
}

/**
 * The outbox relay: the store is the source of truth, the bus only a way to wake workers. Any
 * accepted message still unrouted, or external delivery still unsent, after `ageMs` is
 * published again (after a crashed API, a lost bus record, a broker that lost its data).
 * Each record is republished with a growing pause, so a long backlog is not flooded again.
 */
export function startRelay(deps: Pick<RouterDeps, 'messages' | 'deliveries' | 'bus' | 'clock' | 'logger' | 'metrics' | 'maxBatchBytes' | 'testOnly'>, options: RelayOptions) {
  const lastTry = new Map<string, { at: number; tries: number }>();
  const batch = options.batch ?? 500;

  const due = (id: string, now: number) => {
    const t = lastTry.get(id);
    if (!t) return true;
    return now - t.at >= options.ageMs * 2 ** Math.min(t.tries, 6);
  };
  const mark = (id: string, now: number) => {
    const t = lastTry.get(id);
    lastTry.set(id, { at: now, tries: (t?.tries ?? 0) + 1 });
  };

  // Sabotage for the experiments' own test (CHAOS_DISABLE_RECOVERY): the relay does nothing.
  const disabled = deps.testOnly?.disableRecovery ?? false;
  if (disabled) deps.logger.warn('CHAOS_DISABLE_RECOVERY is set: the outbox relay and the catch-up routing are off, so records the bus loses stay lost (test only)');

  const partitions = options.partitions ?? 12;
  const acceptedTopic: Watched = { group: GROUPS.router, topic: TOPICS.accepted };
  const deliveryTopics = new Map(EXTERNAL_CHANNELS.map((c) => [c, { group: connectorGroup(c), topic: deliveryTopic(c) } satisfies Watched]));
  const positions = options.positions ? new BusPositions(options.positions, [acceptedTopic, ...deliveryTopics.values()]) : null;
  let positionsFailing = false;
  /** Mine to relay, and not waiting in the bus for its consumer. */
  const relayable = (w: Watched, id: string, conversationId: string, createdAt: string) => {
    const p = partitionFor(conversationId, partitions);
    const owned = options.owned?.() ?? null;
    if (owned && !owned.has(p)) return false;
    const publishedAt = Math.max(Date.parse(createdAt), lastTry.get(id)?.at ?? 0);
    if (positions?.stillQueued(w, p, publishedAt)) {
      deps.metrics.relaySkippedQueued.inc();
      return false;
    }
    return true;
  };

  async function tick() {
    if (disabled) return;
    const now = deps.clock.now();
    if (positions) {
      try {
        await positions.observe(now);
        if (positionsFailing) deps.logger.info('relay reads the consumer offsets again');
        positionsFailing = false;
      } catch (err) {
        if (!positionsFailing) deps.logger.warn({ err }, 'relay cannot read the consumer offsets; judging by age alone');
        positionsFailing = true;
      }
    }
    const before = isoAt(now - options.ageMs);
    const unrouted = await deps.messages.listUnrouted(before, batch);
    deps.metrics.unrouted.set(unrouted.length);
    const records = unrouted.filter((m) => due(m.message_id, now) && relayable(acceptedTopic, m.message_id, m.conversation_id, m.created_at));
    if (records.length > 0) {
      await deps.bus.publish(
        TOPICS.accepted,
        records.map((m) => {
          const r: AcceptedRecord = {
            message_id: m.message_id,
            conversation_id: m.conversation_id,
            trace_id: m.trace_id,
            accepted_at: m.created_at,
          };
          return { key: m.conversation_id, value: JSON.stringify(r), headers: { trace_id: m.trace_id } };
        }),
      );
      for (const m of records) mark(m.message_id, now);
      deps.metrics.relayRepublished.inc({ kind: 'message' }, records.length);
      deps.logger.info({ count: records.length }, 'relay republished unrouted messages');
    }
    const undispatched = (await deps.deliveries.listUndispatched(before, batch)).filter(
      (d) => due(d.delivery_id, now) && isExternal(d.channel) && relayable(deliveryTopics.get(d.channel)!, d.delivery_id, d.conversation_id, d.updated_at),
    );
    for (const d of undispatched) {
      const message = await deps.messages.getMessage(d.message_id);
      if (!message) continue;
      await dispatch(deps, message, [d]);
      mark(d.delivery_id, now);
    }
    if (undispatched.length > 0) {
      deps.metrics.relayRepublished.inc({ kind: 'delivery' }, undispatched.length);
      deps.logger.info({ count: undispatched.length }, 'relay re-dispatched unsent deliveries');
    }
    // Forget what is no longer pending so the map does not grow without bound.
    if (lastTry.size > 10 * batch) {
      const pending = new Set([...unrouted.map((m) => m.message_id), ...undispatched.map((d) => d.delivery_id)]);
      for (const id of lastTry.keys()) if (!pending.has(id)) lastTry.delete(id);
    }
  }

  const loop = startPeriodic({ intervalMs: options.intervalMs, pass: tick, onError: (err) => deps.logger.warn({ err }, 'relay pass failed; will try again') });
  return {
    /** Runs one pass now (tests use this instead of waiting); never at the same time as a timed one. */
    tick: loop.tick,
    /** Stops the timer and waits for the pass under way (the offset reader is the caller's to close). */
    stop: loop.stop,
  };
}

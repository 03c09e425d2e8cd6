import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { ExternalChannel } from '../core/domain/types.ts';
import { isoAt } from '../core/ports/clock.ts';
import { partitionFor } from '../core/partitioner.ts';
import { connectorGroup, deliveryTopic } from '../core/topics.ts';
import { withDeadLetters, type DeadLetterMetrics } from '../core/dead-letters.ts';
import type { DeadLetterStore } from '../core/ports/dead-letter-store.ts';
import { decodeRecord, deliveryJobSchema, identityCodeJobSchema, type DeliveryJob, type IdentityCodeJob } from '../core/records.ts';
import { z } from 'zod';
import { sendIdentityCode } from './send-identity-code.ts';
import { startPeriodic } from '../core/periodic.ts';
import { deliver, drainConversation, type DeliverDeps } from './deliver.ts';
import { deliverBatch } from './deliver-batch.ts';

export { connectorGroup };

/** What a delivery topic carries: a message's delivery job, or a one-time identity code. */
const deliveryRecordSchema = z.union([identityCodeJobSchema, deliveryJobSchema]);

export interface ConnectorServiceOptions {
  /** Partitions of the delivery topics (to know which conversations this process owns). */
  partitions: number;
  concurrency?: number;
  /** Conversations handled at once within a partition (see `SubscribeOptions.keyConcurrency`). */
  keyConcurrency?: number;
  /** How often parked deliveries are looked at. @default 250 */
  retryIntervalMs?: number;
  /** Conversations drained at once by the retry loop. @default 8 */
  retryConcurrency?: number;
  /** @default 2000 */
  gaugeIntervalMs?: number;
}

/**
 * Starts consuming the delivery topics of the given channels; runs the retry loop that drains
 * parked conversations when they are due (only those on partitions this process owns, so two
 * connector processes never drain one conversation); keeps the waiting-deliveries gauge fresh.
 */
export async function startConnectors(
  deps: DeliverDeps & { bus: Bus; deadLetters: DeadLetterStore; deadLetterMetrics: DeadLetterMetrics },
  channels: ExternalChannel[],
  options: ConnectorServiceOptions,
): Promise<{ stop(): Promise<void>; retryTick(): Promise<void> }> {
  const subs: Subscription[] = [];
  const owned = new Map<ExternalChannel, Set<number>>();
  for (const channel of channels) {
    const topic = deliveryTopic(channel);
    subs.push(
      await deps.bus.subscribe({
        group: connectorGroup(channel),
        topics: [topic],
        concurrency: options.concurrency,
        keyConcurrency: options.keyConcurrency,
        onAssignment: (assignment) => owned.set(channel, new Set(assignment[topic] ?? [])),
        // A fetched batch at once (`deliver-batch.ts`: store writes per batch and per turn, not per
        // job); a batch with a record it cannot decode (or a store error) goes record by record below.
        batchHandler: async (msgs) => {
          const jobs = msgs.map((m) => decodeRecord(deliveryRecordSchema, m.value, 'delivery job'));
          const deliveries = jobs.filter((j): j is DeliveryJob => !('kind' in j));
          const codes = jobs.filter((j): j is IdentityCodeJob => 'kind' in j);
          await deliverBatch(deps, deliveries, options.keyConcurrency ?? 16);
          // After the deliveries: a batch that fails before this point sends its codes once, one by one.
          for (const code of codes) await sendIdentityCode(deps, code);
        },
        handler: withDeadLetters(async (msg) => {
          const job = decodeRecord(deliveryRecordSchema, msg.value, 'delivery job');
          if ('kind' in job) await sendIdentityCode(deps, job);
          else await deliver(deps, job);
        }, { ...deps, metrics: deps.deadLetterMetrics }),
      }),
    );
  }

  const retryTick = async () => {
    for (const channel of channels) {
      const mine = owned.get(channel);
      if (!mine || mine.size === 0) continue;
      const due = await deps.deliveries.listDueParked(channel, isoAt(deps.clock.now()), 1000);
      const conversations = [...new Set(due.map((d) => d.conversation_id))].filter((c) => mine.has(partitionFor(c, options.partitions)));
      const width = options.retryConcurrency ?? 8;
      for (let i = 0; i < conversations.length; i += width) {
        await Promise.all(conversations.slice(i, i + width).map((c) => drainConversation(deps, c, channel, Infinity)));
      }
    }
  };
  const retry = startPeriodic({ intervalMs: options.retryIntervalMs ?? 250, pass: retryTick, onError: (err) => deps.logger.warn({ err }, 'retry pass failed; will try again') });

  const refresh = async () => {
    for (const channel of channels) deps.metrics.waiting.set({ channel }, await deps.deliveries.countUnsent(channel));
  };
  const gauge = setInterval(() => void refresh().catch(() => undefined), options.gaugeIntervalMs ?? 2000);
  gauge.unref();
  await refresh();
  return {
    retryTick: retry.tick,
    async stop() {
      clearInterval(gauge);
      await retry.stop();
      await Promise.all(subs.map((s) => s.stop()));
    },
  };
}

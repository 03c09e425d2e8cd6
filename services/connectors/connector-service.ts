import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { ExternalChannel } from '../core/domain/types.ts';
import { deliveryTopic, type DeliveryJob } from '../core/topics.ts';
import { deliver, type DeliverDeps } from './deliver.ts';

/** The consumer group of one channel's connectors. */
export const connectorGroup = (channel: ExternalChannel) => `chat4all-connector-${channel}`;

/**
 * Starts consuming the delivery topics of the given channels, and keeps the gauge of waiting
 * deliveries (the store-and-forward backlog) fresh.
 */
export async function startConnectors(
  deps: DeliverDeps & { bus: Bus },
  channels: ExternalChannel[],
  options: { concurrency?: number; gaugeIntervalMs?: number } = {},
): Promise<{ stop(): Promise<void> }> {
  const subs: Subscription[] = [];
  for (const channel of channels) {
    subs.push(
      await deps.bus.subscribe({
        group: connectorGroup(channel),
        topics: [deliveryTopic(channel)],
        concurrency: options.concurrency,
        handler: async (msg) => {
          await deliver(deps, JSON.parse(msg.value) as DeliveryJob);
        },
      }),
    );
  }
  const refresh = async () => {
    for (const channel of channels) deps.metrics.waiting.set({ channel }, await deps.store.countUnsent(channel));
  };
  const gauge = setInterval(() => void refresh().catch(() => undefined), options.gaugeIntervalMs ?? 2000);
  gauge.unref();
  await refresh();
  return {
    async stop() {
      clearInterval(gauge);
      await Promise.all(subs.map((s) => s.stop()));
    },
  };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startConsumerLag, type OffsetReader } from '../../services/core/consumer-lag.ts';
import { kafkaOffsetReader } from '../../services/core/adapters/kafka/kafka-offset-reader.ts';

const value = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;

test('lag is latest minus committed per partition; a partition never committed counts from its first offset', async () => {
  const registry = new Registry();
  const reader: OffsetReader = {
    latestOffsets: async () => new Map([[0, { low: 0n, high: 10n }], [1, { low: 4n, high: 7n }], [2, { low: 0n, high: 5n }]]),
    committedOffsets: async () => new Map([[0, 8n], [2, 5n]]),
    close: async () => undefined,
  };
  const lag = startConsumerLag({ reader, registry, targets: [{ group: 'g', topics: ['t'] }], intervalMs: 60_000 });
  await lag.refresh();
  assert.equal(await value(registry, 'kafka_consumergroup_lag', { consumergroup: 'g', topic: 't', partition: '0' }), 2);
  assert.equal(await value(registry, 'kafka_consumergroup_lag', { partition: '1' }), 3);
  assert.equal(await value(registry, 'kafka_consumergroup_lag', { partition: '2' }), 0);
  assert.equal(await value(registry, 'kafka_consumergroup_lag_sum', { consumergroup: 'g', topic: 't' }), 5);
  assert.ok((await value(registry, 'kafka_consumergroup_lag_refreshed_timestamp_seconds', {}))! > 0);
  await lag.stop();
});

test('the Kafka reader treats offset -1 as "nothing committed" and reconnects after a failure', async () => {
  let connects = 0;
  let fail = true;
  const reader = kafkaOffsetReader({
    connect: async () => void connects++,
    disconnect: async () => undefined,
    fetchTopicOffsets: async () => {
      if (fail) {
        fail = false;
        throw new Error('broker gone');
      }
      return [{ partition: 0, low: '0', high: '3' }];
    },
    fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '-1' }, { partition: 1, offset: '2' }] }],
  });
  await assert.rejects(reader.latestOffsets('t'), /broker gone/);
  assert.deepEqual(await reader.latestOffsets('t'), new Map([[0, { low: 0n, high: 3n }]]));
  assert.equal(connects, 2);
  assert.deepEqual(await reader.committedOffsets('g', 't'), new Map([[1, 2n]]));
});

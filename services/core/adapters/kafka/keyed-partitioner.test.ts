import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { keyedPartitioner } from './keyed-partitioner.ts';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));

test('keyed records go where kafkajs would put them, for string and Buffer keys', () => {
  const ours = keyedPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  for (const partitions of [1, 3, 4, 12, 50]) {
    const partitionMetadata = metadata(partitions);
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 40));
      const key = i % 2 === 0 ? bytes.toString('hex') : bytes;
      const message = { key, value: 'v' };
      assert.equal(ours({ topic: 't', partitionMetadata, message }), theirs({ topic: 't', partitionMetadata, message }), `key ${key.toString()} over ${partitions}`);
    }
  }
});

test('an explicit partition is kept, and a record without a key still gets a partition', () => {
  const ours = keyedPartitioner();
  const partitionMetadata = metadata(6);
  assert.equal(ours({ topic: 't', partitionMetadata, message: { key: 'k', partition: 4, value: 'v' } }), 4);
  const p = ours({ topic: 't', partitionMetadata, message: { value: 'v' } });
  assert.ok(Number.isInteger(p) && p >= 0 && p < 6);
});

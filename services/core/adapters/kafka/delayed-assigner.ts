import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * kafkajs' round-robin assigner whose group leader waits `delayMs` before it answers
 * (`KAFKA_ASSIGN_DELAY_MS`; the local platform sets 300 for its dev broker).
 *
 * Works around a librdkafka 2.0.2 mock-cluster race: the mock completes a group sync as soon as
 * the leader's SyncGroup (carrying every member's assignment) arrives; a follower whose SyncGroup
 * arrives after that gets INVALID_REQUEST, which kafkajs treats as non-retriable, so that consumer
 * crashes for good (CRASH event with restart=false). Delaying the leader lets followers'
 * SyncGroups reach the mock first. Keeps kafkajs' protocol name, so members with and without the
 * delay can share a group. Against a real Kafka it merely slows each rebalance by `delayMs`, which
 * is why production leaves it at 0 (no delayed assigner at all).
 */
export function delayedAssigner(delayMs = 300): PartitionAssigner {
  return (config) => {
    const inner = PartitionAssigners.roundRobin(config);
    return {
      name: inner.name,
      version: inner.version,
      protocol: (subscription) => inner.protocol(subscription),
      assign: async (group) => {
        await new Promise((r) => setTimeout(r, delayMs));
        return inner.assign(group);
      },
    };
  };
}

import { describe } from 'node:test';
import { InMemoryBus } from '../../services/core/adapters/in-memory-bus.ts';
import { busContract } from './bus-contract.ts';

describe('InMemoryBus', () => {
  const bus = new InMemoryBus(4, 20);
  let n = 0;
  busContract('InMemoryBus', () => ({
    bus,
    topic: async () => `t-${n++}`,
    another: async () => bus,
  }));
});

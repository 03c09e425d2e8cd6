import { after, before, describe } from 'node:test';
import { randomBytes } from 'node:crypto';
import { KafkaBus } from '../../services/core/adapters/kafka/kafka-bus.ts';
import { startDevBroker, type DevBroker } from '../../services/devbroker/dev-broker.ts';
import { busContract } from './bus-contract.ts';

describe('KafkaBus on the dev broker', () => {
  let broker: DevBroker;
  const buses: KafkaBus[] = [];
  const newBus = () => {
    const bus = new KafkaBus({ brokers: broker.bootstrap, clientId: `contract-${randomBytes(3).toString('hex')}`, sessionTimeoutMs: 6000 });
    buses.push(bus);
    return bus;
  };
  let bus: KafkaBus;

  before(async () => {
    broker = await startDevBroker({ topics: [] });
    bus = newBus();
  });
  after(async () => {
    for (const b of buses) await b.close();
    await broker?.stop();
  });

  busContract(
    'KafkaBus',
    () => ({
      bus,
      topic: async (partitions) => {
        const name = `contract-${randomBytes(4).toString('hex')}`;
        await broker.createTopic(name, partitions);
        return name;
      },
      another: async () => newBus(),
    }),
    45000,
  );
});

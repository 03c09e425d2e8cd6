import type { Config } from './config.ts';
import type { Bus } from './ports/bus.ts';
import type { LegacyStore as MessageStore } from './ports/legacy-store.ts';
import { systemClock, type Clock } from './ports/clock.ts';
import { InMemoryBus } from './adapters/in-memory-bus.ts';
import { SqliteMessageStore } from './adapters/sqlite-message-store.ts';
import type { Logger } from './logger.ts';

export interface Adapters {
  store: MessageStore;
  bus: Bus;
  clock: Clock;
}

/** The one place that chooses adapters from config. */
export async function buildAdapters(config: Config, given: Partial<Adapters> = {}, logger?: Logger): Promise<Adapters> {
  const store = given.store ?? (await buildStore(config, logger));
  const bus = given.bus ?? (await buildBus(config, logger));
  return { store, bus, clock: given.clock ?? systemClock };
}

/** Where and how to reach Cassandra, from the config (the services and the schema job). */
export function cassandraConnection(config: Config) {
  return {
    contactPoints: config.cassandraContactPoints,
    localDataCenter: config.cassandraLocalDataCenter,
    keyspace: config.cassandraKeyspace,
    username: config.cassandraUsername,
    password: config.cassandraPassword,
    replication: config.cassandraReplication,
    connectTimeoutMs: config.cassandraConnectTimeoutMs,
  };
}

async function buildStore(config: Config, logger?: Logger): Promise<MessageStore> {
  switch (config.store) {
    case 'sqlite':
      return new SqliteMessageStore(config.sqlitePath);
    case 'memory':
      return new SqliteMessageStore(':memory:');
    case 'cassandra': {
      // Loaded only here, so that the embedded stores never load the driver.
      const { CassandraMessageStore } = await import('./adapters/cassandra-message-store.ts');
      let looks = 0;
      return CassandraMessageStore.connect({
        ...cassandraConnection(config),
        schema: config.cassandraSchema,
        schemaWaitMs: config.cassandraSchemaWaitMs,
        // Said at the first look and then about every 30 s (one look every 2 s).
        onSchemaWait: (missing) => {
          if (looks++ % 15 !== 0) return;
          logger?.warn(
            { keyspace: config.cassandraKeyspace, missing: missing.length },
            `the Cassandra schema is not there yet (CASSANDRA_SCHEMA=wait): the chart's schema Job (<release>-cassandra-schema) creates it; or run \`node dist/services/core/cassandra-schema-main.js\`. Waiting up to ${config.cassandraSchemaWaitMs} ms`,
          );
        },
      }, { historySettleMs: config.cassandraHistorySettleMs });
    }
  }
}

async function buildBus(config: Config, logger?: Logger): Promise<Bus> {
  switch (config.bus) {
    case 'memory':
      return new InMemoryBus(config.partitions);
    case 'kafka': {
      const { KafkaBus } = await import('./adapters/kafka/kafka-bus.ts');
      return new KafkaBus({
        brokers: config.kafkaBrokers,
        clientId: config.serviceName,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        heartbeatIntervalMs: config.kafkaHeartbeatMs,
        maxWaitTimeMs: config.kafkaMaxWaitMs,
        lingerMs: config.kafkaLingerMs,
        logger,
        assignDelayMs: config.kafkaAssignDelayMs,
        onFatal: () => {
          // A consumer that will never consume again must not look alive: stop, so it is seen and restarted.
          logger?.fatal('a Kafka consumer stopped for good; stopping the process');
          process.kill(process.pid, 'SIGTERM');
        },
      });
    }
  }
}

import type { Config } from './config.ts';
import type { Bus } from './ports/bus.ts';
import type { Stores } from './ports/stores.ts';
import { systemClock, type Clock } from './ports/clock.ts';
import type { OffsetReader } from './consumer-lag.ts';
import { InMemoryBus } from './adapters/in-memory-bus.ts';
import { openSqliteStores } from './adapters/sqlite/open-sqlite-stores.ts';
import type { Logger } from './logger.ts';

/** The adapters of one process: every store port, the bus, its offsets and the clock. */
export interface Adapters extends Omit<Stores, 'healthy' | 'close'> {
  bus: Bus;
  /**
   * Reads the bus's committed and latest offsets (the relay's positions, the consumer-lag
   * metrics); null when the bus has none to read (the in-memory bus). Not connected until first
   * used; whoever uses it closes it.
   */
  offsets: OffsetReader | null;
  clock: Clock;
  /** The backing store of the ports: its readiness, and its close (after the last use of any port). */
  store: Pick<Stores, 'healthy' | 'close'>;
}

/** Adapters a caller brings instead of those the config names (tests, the embedded platform). */
export interface GivenAdapters {
  stores?: Stores;
  bus?: Bus;
  offsets?: OffsetReader | null;
  clock?: Clock;
}

/** The one place that chooses adapters from config. */
export async function buildAdapters(config: Config, given: GivenAdapters = {}, logger?: Logger): Promise<Adapters> {
  const stores = given.stores ?? (await buildStores(config, logger));
  const { bus, offsets } = given.bus ? { bus: given.bus, offsets: given.offsets ?? null } : await buildBus(config, logger);
  const { users, contacts, conversations, messages, deliveries, deadLetters, webhooks, rateLimits } = stores;
  return { users, contacts, conversations, messages, deliveries, deadLetters, webhooks, rateLimits, store: stores, bus, offsets, clock: given.clock ?? systemClock };
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

/** The stores the config names (also for commands that need only the store: `chat4all admin`). */
export async function buildStores(config: Config, logger?: Logger): Promise<Stores> {
  switch (config.store) {
    case 'sqlite':
      return openSqliteStores(config.sqlitePath);
    case 'memory':
      return openSqliteStores(':memory:');
    case 'cassandra': {
      // Loaded only here, so that the embedded stores never load the driver.
      const { openCassandraStores } = await import('./adapters/cassandra/open-cassandra-stores.ts');
      let looks = 0;
      const stores = await openCassandraStores({
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
      return stores;
    }
  }
}

async function buildBus(config: Config, logger?: Logger): Promise<{ bus: Bus; offsets: OffsetReader | null }> {
  switch (config.bus) {
    case 'memory':
      return { bus: new InMemoryBus(config.partitions), offsets: null };
    case 'kafka': {
      const { KafkaBus } = await import('./adapters/kafka/kafka-bus.ts');
      const bus = new KafkaBus({
        brokers: config.kafkaBrokers,
        clientId: config.serviceName,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        heartbeatIntervalMs: config.kafkaHeartbeatMs,
        maxWaitTimeMs: config.kafkaMaxWaitMs,
        lingerMs: config.kafkaLingerMs,
        maxBatchBytes: config.busMaxBatchBytes,
        logger,
        assignDelayMs: config.kafkaAssignDelayMs,
        onFatal: () => {
          // A consumer that will never consume again must not look alive: stop, so it is seen and restarted.
          logger?.fatal('a Kafka consumer stopped for good; stopping the process');
          process.kill(process.pid, 'SIGTERM');
        },
      });
      // One admin client reads the offsets for both the lag metrics and the relay.
      return { bus, offsets: bus.offsetReader() };
    }
  }
}

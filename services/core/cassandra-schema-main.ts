import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { connectSession } from './adapters/cassandra/connect.ts';
import { cassandraConnection } from './build-adapters.ts';

/*
 * The one-off schema step of a cluster install (the chart's `<name>-cassandra-schema` Job, a
 * pre-install/pre-upgrade hook): creates the keyspace and the tables that are missing, then exits.
 * The workloads run with CASSANDRA_SCHEMA=wait and send no DDL, so no two pods ever create the same
 * table at once (CASSANDRA-10699). Exit codes: 0 done, 1 Cassandra failed, 2 bad configuration.
 */
const SERVICE = 'cassandra-schema';

let config: Config;
try {
  // The Job is given the Cassandra settings and credentials only. The production profile's
  // required secrets (JWT_SECRET, provider tokens) are the services' concern, not this step's:
  // read the settings as the dev profile does, which only lets those secrets fall back.
  config = loadConfig(process.env, { profile: 'dev' });
  if (config.store !== 'cassandra') {
    throw new ConfigError([`STORE_DRIVER: is ${config.store}; the schema job sets up Cassandra only: set STORE_DRIVER=cassandra`]);
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${SERVICE}: ${err.message}\n`);
  process.exit(2);
}

const logger = createLogger(process.env.SERVICE_NAME ?? SERVICE, config.logLevel);
const where = { contact_points: config.cassandraContactPoints, keyspace: config.cassandraKeyspace };
try {
  // `create` whatever CASSANDRA_SCHEMA says: the ConfigMap the Job shares with the workloads says `wait`.
  const { session, createdTables } = await connectSession({ ...cassandraConnection(config), schema: 'create' });
  await session.shutdown();
  logger.info(
    { ...where, created_tables: createdTables },
    createdTables.length > 0 ? `the Cassandra schema is ready: created ${createdTables.length} tables` : 'the Cassandra schema is ready: every table existed already',
  );
  process.exit(0);
} catch (err) {
  logger.fatal({ ...where, err }, `could not set up the Cassandra schema: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

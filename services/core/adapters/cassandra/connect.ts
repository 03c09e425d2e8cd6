import { Client } from 'cassandra-driver';
import { CassandraUnreachableError, translate } from './errors.ts';
import { keyspaceCql, type Replication } from './schema.ts';
import { createTables, waitForSchema } from './schema-setup.ts';
import { LOCAL_QUORUM, LOCAL_SERIAL, type CqlSession } from './session.ts';

/** Where and how to reach the cluster, and what to do about the schema. */
export interface CassandraConnectOptions {
  /** `host:port` of one or more nodes (CASSANDRA_CONTACT_POINTS). */
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  username?: string;
  password?: string;
  /** Used when the keyspace does not exist yet. @default SimpleStrategy, factor 1 */
  replication?: Replication;
  /** Bound on reaching the cluster at start. @default 10000 */
  connectTimeoutMs?: number;
  /** Per-request timeout of the driver. @default 12000 */
  requestTimeoutMs?: number;
  /**
   * `create`: create the keyspace and the missing tables. `wait`: send no DDL, wait until the
   * keyspace and every table exist (see `waitForSchema`). @default create
   */
  schema?: 'create' | 'wait';
  /** With `schema: 'wait'`: how long to wait for the schema. @default 300000 */
  schemaWaitMs?: number;
  /** With `schema: 'wait'`: told the tables still missing, before each pause. */
  onSchemaWait?: (missing: readonly string[]) => void;
}

/** The driver's client behind the narrow session port, with its errors translated. */
function driverSession(client: Client): CqlSession {
  return {
    execute: (query, params, options) => client.execute(query, params, options).catch((err: unknown) => Promise.reject(translate(err))),
    batch: (queries, options) => client.batch(queries, options).catch((err: unknown) => Promise.reject(translate(err))),
    shutdown: () => client.shutdown(),
  };
}

/** `work`, or `onTimeout()` thrown after `ms`. */
async function within<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A driver client, connected within `connectTimeoutMs`. The bootstrap client (the first to reach
 * the cluster, short-lived) waits no longer than that for any answer and sends no heartbeats: the
 * driver misses a node that hangs up during its handshake, and would otherwise keep the process
 * alive with a request timer and heartbeats of a connection that is long gone.
 */
async function connectClient(o: CassandraConnectOptions, keyspace: string | undefined, bootstrap: boolean): Promise<Client> {
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const where = `CASSANDRA_CONTACT_POINTS=${o.contactPoints.join(',')} (CASSANDRA_LOCAL_DATA_CENTER=${o.localDataCenter})`;
  const client = new Client({
    contactPoints: o.contactPoints,
    localDataCenter: o.localDataCenter,
    keyspace,
    credentials: o.username ? { username: o.username, password: o.password ?? '' } : undefined,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: bootstrap ? timeoutMs : (o.requestTimeoutMs ?? 12_000) },
    pooling: bootstrap ? { heartBeatInterval: 0 } : undefined,
    queryOptions: { consistency: LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL, prepare: true },
  });
  try {
    await within(client.connect(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return client;
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new CassandraUnreachableError(`could not connect to Cassandra at ${where}: ${reason}`, err);
  }
}


/**
 * Connects (bounded by `connectTimeoutMs`), then either creates the keyspace and the missing
 * tables (`schema: 'create'`) or waits for them (`schema: 'wait'`). Returns the session on the
 * keyspace and the tables it created (none with `schema: 'wait'`). Throws
 * `CassandraUnreachableError` naming the contact points, or `CassandraSchemaMissingError`.
 */
export async function connectSession(options: CassandraConnectOptions): Promise<{ session: CqlSession; createdTables: string[] }> {
  const wait = options.schema === 'wait';
  const bootstrap = await connectClient(options, undefined, true);
  try {
    if (wait) {
      // The keyspace must exist before a client can connect to it, so this client (none) waits.
      await waitForSchema(driverSession(bootstrap), options.keyspace, { timeoutMs: options.schemaWaitMs ?? 300_000, onWaiting: options.onSchemaWait });
    } else {
      const cql = keyspaceCql(options.keyspace, options.replication ?? { class: 'SimpleStrategy', replicationFactor: 1 });
      await bootstrap.execute(cql, [], { readTimeout: Math.max(options.requestTimeoutMs ?? 12_000, 30_000) });
    }
  } catch (err) {
    throw translate(err);
  } finally {
    await bootstrap.shutdown().catch(() => undefined);
  }
  const client = await connectClient(options, options.keyspace, false);
  const session = driverSession(client);
  let createdTables: string[] = [];
  try {
    if (!wait) createdTables = await createTables(session, options.keyspace);
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    throw err;
  }
  return { session, createdTables };
}

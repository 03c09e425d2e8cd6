import { types } from 'cassandra-driver';
import { CassandraSchemaMissingError } from './errors.ts';
import { TABLES, tableName } from './schema.ts';
import { LOCAL_QUORUM, type CqlSession } from './session.ts';
import { CQL } from './statements.ts';

/** The tables of `keyspace` that exist (none when the keyspace does not), as `system_schema.tables` lists them. */
async function existingTables(session: CqlSession, keyspace: string): Promise<Set<string>> {
  const one = { prepare: false, consistency: types.consistencies.one };
  return new Set((await session.execute(CQL.tables, [keyspace], one)).rows.map((r) => String(r.table_name)));
}

/**
 * Creates every table that is missing (each statement is `CREATE TABLE IF NOT EXISTS`) and returns
 * the names of those it sent. Given the keyspace, it first asks which tables exist and sends no DDL
 * for those: Cassandra 4 and 5 can give one table two ids when two clients create it at once
 * (CASSANDRA-10699), so the pods of a running deployment should not all send `CREATE TABLE` at once.
 */
export async function createTables(session: CqlSession, keyspace?: string): Promise<string[]> {
  const existing = keyspace === undefined ? new Set<string>() : await existingTables(session, keyspace);
  const created: string[] = [];
  for (const cql of TABLES) {
    if (existing.has(tableName(cql))) continue;
    await session.execute(cql, [], { prepare: false, consistency: LOCAL_QUORUM });
    created.push(tableName(cql));
  }
  return created;
}

/** How `waitForSchema` waits. */
export interface SchemaWait {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between two looks. @default 2000 */
  pollMs?: number;
  /** Told the tables still missing, before each pause. */
  onWaiting?: (missing: readonly string[]) => void;
  /** @default Date.now */
  now?: () => number;
  /** @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Waits, sending no DDL, until `keyspace` holds every table of the store: what the workloads of a
 * cluster do while one schema Job creates the tables (see `CASSANDRA_SCHEMA`). A missing keyspace
 * lists no tables, so it is waited for too. Throws `CassandraSchemaMissingError` after `timeoutMs`.
 */
export async function waitForSchema(session: CqlSession, keyspace: string, o: SchemaWait): Promise<void> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + o.timeoutMs;
  for (;;) {
    const existing = await existingTables(session, keyspace);
    const missing = TABLES.map(tableName).filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    if (now() >= deadline) {
      const what = existing.size === 0 ? `keyspace ${keyspace} does not exist or has no tables` : `keyspace ${keyspace} lacks ${missing.join(', ')}`;
      throw new CassandraSchemaMissingError(
        `the Cassandra schema is not there yet after ${o.timeoutMs} ms (CASSANDRA_SCHEMA=wait): ${what}. The chart's schema Job (<release>-cassandra-schema) creates it; or run \`node dist/services/core/cassandra-schema-main.js\` with the same settings`,
      );
    }
    o.onWaiting?.(missing);
    await sleep(Math.max(0, Math.min(o.pollMs ?? 2000, deadline - now())));
  }
}

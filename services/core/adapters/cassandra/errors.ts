import { AppError, unavailable } from '../../errors.ts';

/** Startup could not reach Cassandra; the message names the contact points. */
export class CassandraUnreachableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('store_unreachable', message, { retriable: true, status: 503, cause });
    this.name = 'CassandraUnreachableError';
  }
}

/** The schema is still missing after `CASSANDRA_SCHEMA_WAIT_MS`; retriable (the schema Job may still be running). */
export class CassandraSchemaMissingError extends AppError {
  constructor(message: string) {
    super('store_schema_missing', message, { retriable: true, status: 503 });
    this.name = 'CassandraSchemaMissingError';
  }
}

/**
 * Driver errors worth a retry: no node answered in time, the node is overloaded or starting, or
 * too few replicas answered. Server error codes (native protocol v4, section 9): 0x1000
 * unavailable, 0x1001 overloaded, 0x1002 is_bootstrapping, 0x1100 write timeout, 0x1200 read
 * timeout, 0x1300 read failure, 0x1500 write failure.
 */
const RETRIABLE_NAMES = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError']);
const RETRIABLE_CODES = new Set([0x1000, 0x1001, 0x1002, 0x1100, 0x1200, 0x1300, 0x1500]);

/** Translates a driver error at the boundary into our AppError: `unavailable` (retriable) or `store_error`. */
export function translate(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; code?: number; message?: string };
  const retriable = RETRIABLE_NAMES.has(e?.name ?? '') || RETRIABLE_CODES.has(e?.code ?? -1);
  const message = `Cassandra: ${e?.message ?? String(err)}`;
  return retriable ? unavailable(message, err) : new AppError('store_error', message, { cause: err });
}

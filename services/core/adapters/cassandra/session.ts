import { types } from 'cassandra-driver';

/** A row as the driver answers it: column name to value. */
export type CqlRow = Record<string, unknown>;

/** The driver's query options that the store uses. */
export interface CqlOptions {
  prepare: boolean;
  consistency: number;
  serialConsistency?: number;
  fetchSize?: number;
  pageState?: string;
  logged?: boolean;
}

export interface CqlResult {
  rows: CqlRow[];
  /** Set when more rows follow (paged reads). */
  pageState?: string | null;
  /** For a lightweight transaction: whether its condition held (the `[applied]` column). */
  wasApplied(): boolean;
}

/** What the store needs of a CQL connection: the driver's `Client` in production, an emulator in unit tests. */
export interface CqlSession {
  execute(query: string, params: unknown[], options: CqlOptions): Promise<CqlResult>;
  batch(queries: { query: string; params: unknown[] }[], options: CqlOptions): Promise<CqlResult>;
  shutdown(): Promise<void>;
}

/** The consistency of every read and write: a quorum of the local data center's replicas. */
export const LOCAL_QUORUM = types.consistencies.localQuorum;
/** The consistency of the condition of a lightweight transaction (and of reads that must see one). */
export const LOCAL_SERIAL = types.consistencies.localSerial;

/** One statement of a batch. */
export interface BatchItem {
  query: string;
  params: unknown[];
}

/** The session with the store's consistency levels applied. */
export class Db {
  constructor(private readonly session: CqlSession) {}

  /** A prepared statement at LOCAL_QUORUM (LOCAL_SERIAL for the condition of a lightweight transaction). */
  run(query: string, params: unknown[], options: { serial?: boolean; fetchSize?: number; pageState?: string } = {}) {
    const o: CqlOptions = { prepare: true, consistency: options.serial ? LOCAL_SERIAL : LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL };
    if (options.fetchSize !== undefined) o.fetchSize = options.fetchSize;
    if (options.pageState !== undefined) o.pageState = options.pageState;
    return this.session.execute(query, params, o);
  }

  /**
   * Every row a read matches. One `execute` answers one page (the driver asks for 5000 rows at a
   * time) and a `pageState` when more follow; a read that stopped there would silently lose rows.
   */
  async rows(query: string, params: unknown[], options: { serial?: boolean } = {}): Promise<CqlRow[]> {
    const out: CqlRow[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.run(query, params, pageState === undefined ? options : { ...options, pageState });
      out.push(...page.rows);
      pageState = page.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  /** A logged batch: all of it is applied, eventually, or none (atomic within one partition). */
  batch(queries: BatchItem[]) {
    return this.session.batch(queries, { prepare: true, consistency: LOCAL_QUORUM, serialConsistency: LOCAL_SERIAL, logged: true });
  }
}

import { types } from 'cassandra-driver';
import type { CqlOptions, CqlResult, CqlRow, CqlSession } from '../../../services/core/adapters/cassandra/session.ts';
import { parseStatement } from './parse-statement.ts';
import { applyWrite, checkWriteMode, conditionsHold, mutationSize, newPartition, rowsOf, type Partition, type WriteMode } from './partition.ts';
import { SYSTEM_LOCAL, SYSTEM_SCHEMA_TABLES, parseCreateTable, type TableDef } from './schema.ts';
import { bindAll, clusteringKey, compareClustering, compareOp, partitionKey, value, type Statement } from './statement.ts';

/** What the emulator may be told beyond the clock. */
export interface CqlEmulatorOptions {
  /**
   * Most rows one page of a read holds. Cassandra pages every read (the driver asks for 5000 rows
   * at a time) and answers the rest only to a request that hands back the `pageState`; pages here
   * are far shorter, so a read that ignores `pageState` loses rows in tests too. @default 3
   */
  pageSize?: number;
  /** Cassandra's `batch_size_fail_threshold` for batches over several partitions. @default 50 KiB */
  batchSizeFailBytes?: number;
}

/**
 * An in-memory stand-in for one Cassandra node, for the CQL the Cassandra stores run. It is no
 * Cassandra: it exists so the store's logic can be tested where no server can run. What it does
 * hold to, because the store depends on it:
 * - statements are checked against the schema the way Cassandra checks them when preparing:
 *   known tables and columns, the whole partition key restricted by `=`, clustering columns
 *   restricted as a prefix with at most one range, no filtering on other columns (no ALLOW
 *   FILTERING), static-only writes without clustering columns, full keys for row updates;
 * - lightweight transactions: `IF NOT EXISTS`, `IF EXISTS`, `IF col = ? AND ...` (null for a
 *   missing row), the `[applied]` column, and conditional batches confined to one partition of one
 *   table, with no custom timestamp and no row under both `IF [NOT] EXISTS` and `IF col = ...`
 *   (BatchStatement and CQL3CasRequest in the Cassandra source);
 * - a row that lightweight transactions write is written only by them: Cassandra stamps a Paxos
 *   write with its ballot's time and a plain write with the client's clock, so which of the two
 *   wins depends on clocks ("mixing lightweight transactions and normal operations can result in
 *   errors", DataStax: How do I accomplish lightweight transactions with linearizable
 *   consistency?). Cassandra accepts such a write; the emulator refuses it, so a test finds it;
 * - paging: a read returns one page and a `pageState` when more rows follow (see `pageSize`);
 * - a batch over several partitions larger than `batch_size_fail_threshold` fails ("Batch too large");
 * - static columns shared by the rows of a partition; rows made by INSERT exist without values;
 * - last write wins by timestamp, tombstones shadow older writes, `USING TIMESTAMP`;
 * - `system_schema.tables` lists the tables created so far;
 * - bigint values come back as the driver's `Long`, int as a number, text as a string.
 * What it leaves out: TTLs (kept, never expired), consistency levels, replication, concurrency
 * between nodes, clocks that differ.
 */
export class CqlEmulator implements CqlSession {
  private readonly tables = new Map<string, TableDef>();
  private readonly data = new Map<string, Map<string, Partition>>();
  private readonly prepared = new Map<string, Statement>();
  private readonly pageSize: number;
  private readonly batchSizeFailBytes: number;
  private lastTs = 0;
  closed = false;

  constructor(
    private readonly now: () => number = Date.now,
    options: CqlEmulatorOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 3;
    this.batchSizeFailBytes = options.batchSizeFailBytes ?? 50 * 1024;
  }

  /** Parses and checks a statement against the schema, as preparing it would. */
  prepare(query: string): Statement {
    let s = this.prepared.get(query);
    if (!s) {
      s = parseStatement(query, (name) => this.table(name));
      this.prepared.set(query, s);
    }
    return s;
  }

  async execute(query: string, params: unknown[], options: CqlOptions): Promise<CqlResult> {
    if (this.closed) throw new Error('emulator: session is shut down');
    if (/^\s*CREATE\s+TABLE/i.test(query)) {
      const def = parseCreateTable(query);
      if (!this.tables.has(def.name)) {
        this.tables.set(def.name, def);
        this.data.set(def.name, new Map());
      }
      return result([]);
    }
    if (/^\s*(CREATE|DROP)\s+KEYSPACE/i.test(query)) return result([]);
    const s = this.prepare(query);
    const args = bindAll(s, params);
    if (s.kind === 'select') return this.select(s, args, options);
    if (s.conditional) {
      const applied = conditionsHold(this.partition(s, args, false), s, args);
      if (applied) {
        checkWriteMode(this.partition(s, args, false), s, args, 'lwt');
        this.apply(s, args, this.nextTs(s, args), 'lwt');
      }
      return result([{ '[applied]': applied }]);
    }
    checkWriteMode(this.partition(s, args, false), s, args, 'plain');
    this.apply(s, args, this.nextTs(s, args), 'plain');
    return result([]);
  }

  async batch(queries: { query: string; params: unknown[] }[], _options: CqlOptions): Promise<CqlResult> {
    if (this.closed) throw new Error('emulator: session is shut down');
    const items = queries.map((q) => {
      const s = this.prepare(q.query);
      if (s.kind === 'select') throw new Error('emulator: a batch cannot hold a SELECT');
      return { s, args: bindAll(s, q.params) };
    });
    const conditional = items.some((i) => i.s.conditional);
    if (conditional) {
      const first = items[0]!;
      const rowConditions = new Map<string, 'exists' | 'not exists' | 'columns'>();
      for (const i of items) {
        if (i.s.table.name !== first.s.table.name) throw new Error('emulator: Batch with conditions cannot span multiple tables');
        if (partitionKey(i.s, i.args) !== partitionKey(first.s, first.args)) throw new Error('emulator: Batch with conditions cannot span multiple partitions');
        if (i.s.timestamp) throw new Error('emulator: Cannot provide custom timestamp for conditional BATCH');
        if (!i.s.conditional) continue;
        const row = i.s.writesStaticOnly ? 'static' : clusteringKey(i.s, i.args);
        const kind = i.s.ifNotExists ? 'not exists' : i.s.ifExists ? 'exists' : 'columns';
        const before = rowConditions.get(row);
        if (before && before !== kind) throw new Error(`emulator: Cannot mix IF conditions and IF [NOT] EXISTS for the same row in: ${i.s.text}`);
        rowConditions.set(row, kind);
      }
      const applied = items.every((i) => !i.s.conditional || conditionsHold(this.partition(i.s, i.args, false), i.s, i.args));
      if (applied) {
        // Every statement of a conditional batch is part of the lightweight transaction.
        for (const i of items) checkWriteMode(this.partition(i.s, i.args, false), i.s, i.args, 'lwt');
        const ts = this.nextTs();
        for (const i of items) this.apply(i.s, i.args, ts, 'lwt');
      }
      return result([{ '[applied]': applied }]);
    }
    const partitions = new Set(items.map((i) => `${i.s.table.name} ${partitionKey(i.s, i.args)}`));
    if (partitions.size > 1) {
      const size = items.reduce((n, i) => n + mutationSize(i.s, i.args), 0);
      if (size > this.batchSizeFailBytes) {
        throw new Error(`emulator: Batch too large (${size} bytes over ${partitions.size} partitions; batch_size_fail_threshold is ${this.batchSizeFailBytes})`);
      }
    }
    for (const i of items) checkWriteMode(this.partition(i.s, i.args, false), i.s, i.args, 'plain');
    const ts = this.nextTs();
    for (const i of items) this.apply(i.s, i.args, i.s.timestamp ? Number(value(i.s.timestamp, i.args)) : ts, 'plain');
    return result([]);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
  }

  /** Another connection to the same data (what a store opened again sees). */
  connect(): CqlSession {
    let closed = false;
    const open = () => {
      if (closed) throw new Error('emulator: session is shut down');
    };
    return {
      execute: async (q, p, o) => (open(), this.execute(q, p, o)),
      batch: async (q, o) => (open(), this.batch(q, o)),
      shutdown: async () => {
        closed = true;
      },
    };
  }

  /** Rows of a table (live rows; statics merged in), for assertions in tests. */
  dump(table: string): CqlRow[] {
    const def = this.table(table);
    const out: CqlRow[] = [];
    for (const p of this.data.get(table)!.values()) out.push(...rowsOf(def, p, () => true, def.columnNames, false).map((r) => r.row));
    return out;
  }

  private table(name: string): TableDef {
    const t = this.tables.get(name);
    if (!t) throw new Error(`emulator: unconfigured table ${name}`);
    return t;
  }

  private nextTs(s?: Statement, args?: unknown[]): number {
    if (s?.timestamp && args) return Number(value(s.timestamp, args));
    this.lastTs = Math.max(this.lastTs + 1, this.now() * 1000);
    return this.lastTs;
  }

  private partition(s: Statement, args: unknown[], create: boolean): Partition | undefined {
    const key = partitionKey(s, args);
    const store = this.data.get(s.table.name)!;
    let p = store.get(key);
    if (!p && create) {
      p = newPartition();
      store.set(key, p);
    }
    return p;
  }

  /**
   * One page of a read. Like Cassandra, the page state says where the next page starts (after the
   * last row returned) and how much of the LIMIT is left, so rows written between two pages are
   * neither repeated nor skipped.
   */
  private select(s: Statement, args: unknown[], options: CqlOptions): CqlResult {
    if (s.table === SYSTEM_LOCAL) return result([{ release_version: 'emulator' }]);
    if (s.table === SYSTEM_SCHEMA_TABLES) return result([...this.tables.keys()].map((table_name) => ({ table_name })));
    const p = this.partition(s, args, false);
    if (!p) return result(s.count ? [{ count: types.Long.fromNumber(0) }] : []);
    const clustering = s.where.filter((r) => s.table.clustering.some((c) => c.name === r.column));
    const match = (ck: unknown[]) =>
      clustering.every((r) => {
        const i = s.table.clustering.findIndex((c) => c.name === r.column);
        return compareOp(s.table.columns.get(r.column)!.type, ck[i], r.op, value(r.value, args));
      });
    let rows = rowsOf(s.table, p, match, s.columns, clustering.length > 0);
    // COUNT(*) pages internally and answers one row.
    if (s.count) return result([{ count: types.Long.fromNumber(s.limit ? Math.min(rows.length, Number(value(s.limit, args))) : rows.length) }]);
    let left = s.limit ? Number(value(s.limit, args)) : Infinity;
    if (options.pageState) {
      const state = JSON.parse(options.pageState) as { after: unknown[]; left: number | null };
      rows = rows.filter((r) => r.ck !== null && compareClustering(s.table, r.ck, state.after) > 0);
      left = state.left ?? Infinity;
    }
    rows = rows.slice(0, left);
    const size = Math.min(options.fetchSize ?? 5000, this.pageSize);
    const page = rows.slice(0, size);
    const last = page.at(-1);
    const more = rows.length > size && last?.ck;
    const pageState = more ? JSON.stringify({ after: last.ck, left: Number.isFinite(left) ? left - size : null }) : null;
    return { ...result(page.map((r) => r.row)), pageState };
  }

  private apply(s: Statement, args: unknown[], ts: number, mode: WriteMode) {
    applyWrite(this.partition(s, args, true)!, s, args, ts, mode);
  }
}

/** A result of rows (`[applied]` among them for a lightweight transaction), on one page. */
function result(rows: CqlRow[]): CqlResult {
  return {
    rows,
    pageState: null,
    wasApplied: () => (rows[0] && '[applied]' in rows[0] ? rows[0]['[applied]'] === true : true),
  };
}

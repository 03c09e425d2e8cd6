import { types } from 'cassandra-driver';
import type { CqlOptions, CqlResult, CqlRow, CqlSession } from '../../services/core/adapters/cassandra-message-store.ts';

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
 * An in-memory stand-in for one Cassandra node, for the CQL the message store runs. It is no
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
      const applied = this.check(s, args);
      if (applied) {
        this.checkWriteMode(s, args, 'lwt');
        this.apply(s, args, this.nextTs(s, args), 'lwt');
      }
      return result([{ '[applied]': applied }]);
    }
    this.checkWriteMode(s, args, 'plain');
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
      const applied = items.every((i) => !i.s.conditional || this.check(i.s, i.args));
      if (applied) {
        // Every statement of a conditional batch is part of the lightweight transaction.
        for (const i of items) this.checkWriteMode(i.s, i.args, 'lwt');
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
    for (const i of items) this.checkWriteMode(i.s, i.args, 'plain');
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
    for (const p of this.data.get(table)!.values()) out.push(...this.rowsOf(def, p, () => true, def.columnNames, false).map((r) => r.row));
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
      p = { statics: new Map(), rows: new Map(), tomb: -Infinity, writtenBy: new Map() };
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
    let rows = this.rowsOf(s.table, p, match, s.columns, clustering.length > 0);
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

  private rowsOf(def: TableDef, p: Partition, match: (ck: unknown[]) => boolean, columns: string[], restricted: boolean): { ck: unknown[] | null; row: CqlRow }[] {
    const staticLive = [...p.statics.values()].some((c) => c.v !== null);
    const live = [...p.rows.values()]
      .filter((r) => (r.marker !== null || [...r.cells.values()].some((c) => c.v !== null)) && match(r.ck))
      .sort((a, b) => compareClustering(def, a.ck, b.ck));
    const shape = (ck: unknown[] | null, cells: Map<string, Cell> | null): CqlRow => {
      const row: CqlRow = {};
      for (const name of columns) {
        const col = def.columns.get(name)!;
        let v: unknown = null;
        if (col.kind === 'partition') v = p.pk![def.partitionKey.indexOf(name)];
        else if (col.kind === 'clustering') v = ck ? ck[def.clustering.findIndex((c) => c.name === name)] : null;
        else if (col.kind === 'static') v = p.statics.get(name)?.v ?? null;
        else v = cells?.get(name)?.v ?? null;
        row[name] = v !== null && col.type === 'bigint' ? types.Long.fromNumber(v as number) : v;
      }
      return row;
    };
    if (live.length === 0) return !restricted && staticLive ? [{ ck: null, row: shape(null, null) }] : [];
    return live.map((r) => ({ ck: r.ck, row: shape(r.ck, r.cells) }));
  }

  /** What a write touches, for telling lightweight-transaction rows from plain ones: row keys, 'static', or '*' (all of the partition). */
  private rowsWritten(s: Statement, args: unknown[]): string[] {
    if (s.kind === 'delete') {
      const full = s.table.clustering.every((c) => s.where.some((r) => r.column === c.name));
      return s.table.clustering.length > 0 && full ? [clusteringKey(s, args)] : ['*'];
    }
    if (s.writesStaticOnly) return ['static'];
    const setsStatic = [...s.values.keys()].some((n) => s.table.columns.get(n)!.kind === 'static');
    return setsStatic ? [clusteringKey(s, args), 'static'] : [clusteringKey(s, args)];
  }

  /** Refuses a plain write to a row that lightweight transactions write, and the reverse (see the class comment). */
  private checkWriteMode(s: Statement, args: unknown[], mode: WriteMode) {
    const p = this.partition(s, args, false);
    if (!p) return;
    const written = this.rowsWritten(s, args);
    const other = (m: WriteMode | undefined) => m !== undefined && m !== mode;
    const clash = written.includes('*') ? [...p.writtenBy.values()].some(other) : other(p.writtenBy.get('*')) || written.some((k) => other(p.writtenBy.get(k)));
    if (!clash) return;
    throw new Error(
      mode === 'plain'
        ? `emulator: plain write to a row that lightweight transactions write, in: ${s.text} (Cassandra orders the two by different clocks: write it with IF ... too)`
        : `emulator: lightweight transaction on a row that plain writes also write, in: ${s.text} (Cassandra orders the two by different clocks: make those writes conditional too)`,
    );
  }

  /** Whether the conditions of a lightweight transaction hold. */
  private check(s: Statement, args: unknown[]): boolean {
    const p = this.partition(s, args, false);
    const staticOnly = s.writesStaticOnly;
    const row = p && !staticOnly ? p.rows.get(clusteringKey(s, args)) : undefined;
    const rowLive = row ? row.marker !== null || [...row.cells.values()].some((c) => c.v !== null) : false;
    const staticLive = p ? [...p.statics.values()].some((c) => c.v !== null) : false;
    if (s.ifNotExists) return staticOnly ? !staticLive : !rowLive;
    if (s.ifExists) return staticOnly ? staticLive : rowLive;
    return s.conditions.every((c) => {
      const col = s.table.columns.get(c.column)!;
      const current = col.kind === 'static' ? (p?.statics.get(c.column)?.v ?? null) : rowLive ? (row!.cells.get(c.column)?.v ?? null) : null;
      return compareOp(col.type, current, c.op, value(c.value, args));
    });
  }

  private apply(s: Statement, args: unknown[], ts: number, mode: WriteMode) {
    const p = this.partition(s, args, true)!;
    p.pk ??= s.table.partitionKey.map((name) => value(s.where.find((r) => r.column === name)?.value ?? s.values.get(name)!, args));
    for (const k of this.rowsWritten(s, args)) p.writtenBy.set(k, mode);
    if (s.kind === 'delete') {
      const prefix = s.table.clustering.filter((c) => s.where.some((r) => r.column === c.name));
      if (prefix.length === 0) {
        p.tomb = Math.max(p.tomb, ts);
        for (const [k, c] of p.statics) if (c.ts <= ts) p.statics.delete(k);
        for (const r of p.rows.values()) deleteRow(r, ts);
        return;
      }
      for (const r of p.rows.values()) {
        const hit = prefix.every((c, i) => compareOp(c.type, r.ck[i], '=', value(s.where.find((w) => w.column === c.name)!.value, args)));
        if (hit) deleteRow(r, ts);
      }
      return;
    }
    if (ts <= p.tomb) return;
    let row: RowData | undefined;
    if (!s.writesStaticOnly) {
      const key = clusteringKey(s, args);
      row = p.rows.get(key);
      if (!row) {
        row = { ck: s.table.clustering.map((c) => value(s.where.find((r) => r.column === c.name)?.value ?? s.values.get(c.name)!, args)), cells: new Map(), marker: null, tomb: -Infinity };
        p.rows.set(key, row);
      }
      if (ts <= row.tomb) return;
      if (s.kind === 'insert') row.marker = Math.max(row.marker ?? -Infinity, ts);
    }
    for (const [name, expr] of s.values) {
      const col = s.table.columns.get(name)!;
      if (col.kind === 'partition' || col.kind === 'clustering') continue;
      const cells = col.kind === 'static' ? p.statics : row!.cells;
      const old = cells.get(name);
      if (!old || old.ts <= ts) cells.set(name, { v: value(expr, args), ts });
    }
  }
}

// ---------------------------------------------------------------- schema

type ColType = 'text' | 'bigint' | 'int';

interface ColumnDef {
  type: ColType;
  kind: 'partition' | 'clustering' | 'static' | 'regular';
}

export interface TableDef {
  name: string;
  columns: Map<string, ColumnDef>;
  columnNames: string[];
  partitionKey: string[];
  clustering: { name: string; type: ColType; desc: boolean }[];
}

const SYSTEM_LOCAL: TableDef = {
  name: 'system.local',
  columns: new Map([['release_version', { type: 'text', kind: 'partition' }]]),
  columnNames: ['release_version'],
  partitionKey: [],
  clustering: [],
};

/** `system_schema.tables`, as far as the store reads it (the keyspace is not told apart). */
const SYSTEM_SCHEMA_TABLES: TableDef = {
  name: 'system_schema.tables',
  columns: new Map([
    ['keyspace_name', { type: 'text', kind: 'partition' }],
    ['table_name', { type: 'text', kind: 'clustering' }],
  ]),
  columnNames: ['keyspace_name', 'table_name'],
  partitionKey: ['keyspace_name'],
  clustering: [{ name: 'table_name', type: 'text', desc: false }],
};

/** Parses `CREATE TABLE IF NOT EXISTS name (..., PRIMARY KEY (...)) [WITH CLUSTERING ORDER BY (...)]`. */
export function parseCreateTable(cql: string): TableDef {
  const head = /^\s*CREATE TABLE IF NOT EXISTS (\w+)\s*\(/i.exec(cql);
  if (!head) throw new Error(`emulator: cannot parse ${cql.slice(0, 80)}`);
  const name = head[1]!;
  const open = head[0].length - 1;
  const close = matchingParen(cql, open);
  const body = cql.slice(open + 1, close - 1);
  const options = cql.slice(close);
  if (options.trim() && !/^\s*WITH\s/i.test(options)) throw new Error(`emulator: table ${name}: unexpected "${options.trim().slice(0, 30)}"`);
  const parts = splitTopLevel(body);
  const columns = new Map<string, ColumnDef>();
  const columnNames: string[] = [];
  let pk: string[] = [];
  let ck: string[] = [];
  for (const part of parts) {
    const pkm = /^PRIMARY KEY\s*\(([\s\S]*)\)$/i.exec(part);
    if (pkm) {
      const inner = pkm[1]!.trim();
      if (inner.startsWith('(')) {
        const end = matchingParen(inner, 0);
        pk = inner.slice(1, end - 1).split(',').map((x) => x.trim());
        ck = inner.slice(end).split(',').map((x) => x.trim()).filter(Boolean);
      } else {
        const all = inner.split(',').map((x) => x.trim());
        pk = [all[0]!];
        ck = all.slice(1);
      }
      continue;
    }
    const cm = /^(\w+)\s+(text|bigint|int)(\s+STATIC)?(\s+PRIMARY KEY)?$/i.exec(part);
    if (!cm) throw new Error(`emulator: table ${name}: cannot parse column "${part}" (only text, bigint, int)`);
    columns.set(cm[1]!, { type: cm[2]!.toLowerCase() as ColType, kind: cm[3] ? 'static' : 'regular' });
    columnNames.push(cm[1]!);
    if (cm[4]) pk = [cm[1]!];
  }
  if (pk.length === 0) throw new Error(`emulator: table ${name} has no primary key`);
  const order = /CLUSTERING ORDER BY\s*\(([^)]*)\)/i.exec(options);
  const desc = new Set(
    (order?.[1] ?? '')
      .split(',')
      .map((x) => x.trim().split(/\s+/))
      .filter(([, dir]) => dir?.toUpperCase() === 'DESC')
      .map(([col]) => col!),
  );
  for (const k of [...pk, ...ck]) {
    const col = columns.get(k);
    if (!col) throw new Error(`emulator: table ${name}: key column ${k} is not defined`);
    if (col.kind === 'static') throw new Error(`emulator: table ${name}: key column ${k} cannot be static`);
    col.kind = pk.includes(k) ? 'partition' : 'clustering';
  }
  if (ck.length === 0 && [...columns.values()].some((c) => c.kind === 'static')) {
    throw new Error(`emulator: table ${name}: static columns need clustering columns`);
  }
  return {
    name,
    columns,
    columnNames,
    partitionKey: pk,
    clustering: ck.map((c) => ({ name: c, type: columns.get(c)!.type, desc: desc.has(c) })),
  };
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`emulator: unbalanced parentheses in ${s.slice(0, 60)}`);
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// ---------------------------------------------------------------- statements

/** A bind marker (its position) or a literal. */
type Expr = { marker: number } | { literal: unknown };
type Op = '=' | '<' | '<=' | '>' | '>=' | '!=';

interface Relation {
  column: string;
  op: Op;
  value: Expr;
}

export interface Statement {
  /** The CQL text, for error messages. */
  text: string;
  kind: 'select' | 'insert' | 'update' | 'delete';
  table: TableDef;
  columns: string[];
  count: boolean;
  where: Relation[];
  values: Map<string, Expr>;
  conditions: Relation[];
  ifNotExists: boolean;
  ifExists: boolean;
  conditional: boolean;
  writesStaticOnly: boolean;
  limit: Expr | null;
  timestamp: Expr | null;
  markers: { column: string | null }[];
}

type Token = { t: 'word' | 'str' | 'num' | 'sym' | 'marker'; v: string };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:('(?:[^']|'')*')|(\?)|(-?\d+)|([A-Za-z_][\w.]*)|(<=|>=|!=|[=<>(),*;[\]]))/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < q.length && (m = re.exec(q))) {
    pos = re.lastIndex;
    if (m[1]) out.push({ t: 'str', v: m[1].slice(1, -1).replace(/''/g, "'") });
    else if (m[2]) out.push({ t: 'marker', v: '?' });
    else if (m[3]) out.push({ t: 'num', v: m[3] });
    else if (m[4]) out.push({ t: 'word', v: m[4] });
    else if (m[5]) out.push({ t: 'sym', v: m[5] });
  }
  if (q.slice(pos).trim()) throw new Error(`emulator: cannot read "${q.slice(pos, pos + 20)}"`);
  return out;
}

/** Parses one statement of the subset the store uses and checks it against the schema. */
export function parseStatement(query: string, tableOf: (name: string) => TableDef): Statement {
  if (/ALLOW\s+FILTERING/i.test(query)) throw new Error('emulator: ALLOW FILTERING is not used by this store');
  const toks = tokenize(query);
  let i = 0;
  const markers: { column: string | null }[] = [];
  const peek = (v?: string) => {
    const t = toks[i];
    return t && (v === undefined || t.v.toUpperCase() === v) ? t : undefined;
  };
  const take = (v?: string) => {
    const t = toks[i];
    if (!t || (v !== undefined && t.v.toUpperCase() !== v)) throw new Error(`emulator: expected ${v ?? 'a token'} at "${toks.slice(i, i + 4).map((x) => x.v).join(' ')}" in: ${query}`);
    i++;
    return t;
  };
  const expr = (column: string | null): Expr => {
    const t = take();
    if (t.t === 'marker') {
      markers.push({ column });
      return { marker: markers.length - 1 };
    }
    if (t.t === 'str') return { literal: t.v };
    if (t.t === 'num') return { literal: Number(t.v) };
    if (t.t === 'word' && t.v.toUpperCase() === 'NULL') return { literal: null };
    throw new Error(`emulator: unexpected ${t.v} in: ${query}`);
  };
  const relations = (stop: string[]): Relation[] => {
    const out: Relation[] = [];
    for (;;) {
      const column = take().v;
      const op = take().v as Op;
      if (!['=', '<', '<=', '>', '>=', '!='].includes(op)) throw new Error(`emulator: unsupported operator ${op} in: ${query}`);
      out.push({ column, op, value: expr(column) });
      if (!peek('AND')) break;
      take('AND');
      if (stop.some((s) => peek(s))) break;
    }
    return out;
  };

  const s: Statement = {
    text: query,
    kind: 'select',
    table: SYSTEM_LOCAL,
    columns: [],
    count: false,
    where: [],
    values: new Map(),
    conditions: [],
    ifNotExists: false,
    ifExists: false,
    conditional: false,
    writesStaticOnly: false,
    limit: null,
    timestamp: null,
    markers,
  };
  const first = take().v.toUpperCase();
  const usingClause = () => {
    if (!peek('USING')) return;
    take('USING');
    const what = take().v.toUpperCase();
    const e = expr(null);
    if (what === 'TIMESTAMP') s.timestamp = e;
    else if (what !== 'TTL') throw new Error(`emulator: USING ${what} is not supported`);
  };
  const ifClause = () => {
    if (!peek('IF')) return;
    take('IF');
    if (peek('NOT')) {
      take('NOT');
      take('EXISTS');
      s.ifNotExists = true;
    } else if (peek('EXISTS')) {
      take('EXISTS');
      s.ifExists = true;
    } else s.conditions = relations([]);
    s.conditional = true;
  };

  if (first === 'SELECT') {
    if (peek('COUNT')) {
      take('COUNT');
      take('(');
      take('*');
      take(')');
      s.count = true;
    } else {
      do s.columns.push(take().v);
      while (peek(',') && take(','));
    }
    take('FROM');
    const name = take().v;
    if (name === 'system.local') return s;
    s.table = name === 'system_schema.tables' ? SYSTEM_SCHEMA_TABLES : tableOf(name);
    if (peek('WHERE')) {
      take('WHERE');
      s.where = relations([]);
    }
    if (peek('LIMIT')) {
      take('LIMIT');
      s.limit = expr(null);
    }
  } else if (first === 'INSERT') {
    s.kind = 'insert';
    take('INTO');
    s.table = tableOf(take().v);
    take('(');
    const cols: string[] = [];
    do cols.push(take().v);
    while (peek(',') && take(','));
    take(')');
    take('VALUES');
    take('(');
    for (const [n, c] of cols.entries()) {
      if (n > 0) take(',');
      s.values.set(c, expr(c));
    }
    take(')');
    ifClause();
    usingClause();
  } else if (first === 'UPDATE') {
    s.kind = 'update';
    s.table = tableOf(take().v);
    usingClause();
    take('SET');
    do {
      const c = take().v;
      take('=');
      s.values.set(c, expr(c));
    } while (peek(',') && take(','));
    take('WHERE');
    s.where = relations(['IF']);
    ifClause();
  } else if (first === 'DELETE') {
    s.kind = 'delete';
    take('FROM');
    s.table = tableOf(take().v);
    usingClause();
    take('WHERE');
    s.where = relations(['IF']);
    ifClause();
  } else throw new Error(`emulator: unsupported statement: ${query}`);
  if (i < toks.length && !(toks[i]!.v === ';' && i === toks.length - 1)) throw new Error(`emulator: unexpected "${toks[i]!.v}" in: ${query}`);
  validate(s, query);
  return s;
}

/** The checks Cassandra makes when it prepares a statement (those that matter for this store). */
function validate(s: Statement, query: string) {
  const t = s.table;
  const fail = (why: string) => {
    throw new Error(`emulator: ${why} in: ${query}`);
  };
  const col = (name: string) => t.columns.get(name) ?? fail(`undefined column ${name} of table ${t.name}`);
  for (const name of [...s.columns, ...s.values.keys(), ...s.where.map((r) => r.column), ...s.conditions.map((r) => r.column)]) col(name);

  // WHERE: the whole partition key by '='; clustering columns as a prefix, '=' but for the last; nothing else.
  for (const k of t.partitionKey) {
    const r = s.where.filter((w) => w.column === k);
    if (s.kind === 'insert') continue;
    if (r.length !== 1 || r[0]!.op !== '=') fail(`partition key column ${k} must be restricted by = (no scans)`);
  }
  for (const r of s.where) {
    const c = col(r.column)!;
    if (c.kind === 'static' || c.kind === 'regular') fail(`restriction on non-key column ${r.column} would need ALLOW FILTERING`);
  }
  const restricted = t.clustering.filter((c) => s.where.some((w) => w.column === c.name));
  restricted.forEach((c, idx) => {
    if (t.clustering[idx]!.name !== c.name) fail(`clustering column ${c.name} restricted without the ones before it`);
    const ops = s.where.filter((w) => w.column === c.name).map((w) => w.op);
    const last = idx === restricted.length - 1;
    if (!last && ops.some((o) => o !== '=')) fail(`range on ${c.name} before another clustering restriction`);
    if (ops.includes('!=')) fail(`!= restriction on ${c.name}`);
  });

  const staticOnly = [...s.values.keys()].every((n) => ['static', 'partition'].includes(col(n)!.kind)) && [...s.values.keys()].some((n) => col(n)!.kind === 'static');
  if (s.kind === 'select') {
    const selectsStaticOnly = s.columns.length > 0 && s.columns.every((n) => ['static', 'partition'].includes(col(n)!.kind));
    if (selectsStaticOnly && restricted.length > 0 && t.clustering.length > 0) fail('Cannot restrict clustering columns when selecting only static columns');
    if (s.count && s.columns.length > 0) fail('COUNT(*) with columns');
    return;
  }
  if (s.kind === 'insert') {
    for (const k of t.partitionKey) if (!s.values.has(k)) fail(`Missing mandatory PRIMARY KEY part ${k}`);
    if (staticOnly) {
      for (const c of t.clustering) if (s.values.has(c.name)) fail('clustering column given with static columns only');
    } else {
      for (const c of t.clustering) if (!s.values.has(c.name)) fail(`Missing mandatory PRIMARY KEY part ${c.name}`);
    }
  }
  if (s.kind === 'update') {
    for (const n of s.values.keys()) if (['partition', 'clustering'].includes(col(n)!.kind)) fail(`PRIMARY KEY part ${n} found in SET part`);
    if (staticOnly && restricted.length > 0) fail('Invalid restrictions on clustering columns since the UPDATE statement modifies only static columns');
    if (!staticOnly) {
      for (const c of t.clustering) {
        const r = s.where.filter((w) => w.column === c.name);
        if (r.length !== 1 || r[0]!.op !== '=') fail(`Missing PRIMARY KEY part ${c.name}`);
      }
    }
  }
  if (s.kind === 'delete') {
    for (const r of s.where) if (r.op !== '=') fail(`range deletion on ${r.column} is not used by this store`);
    if (s.conditional && restricted.length !== t.clustering.length) fail('DELETE with conditions must name the full primary key');
  }
  for (const c of s.conditions) if (['partition', 'clustering'].includes(col(c.column)!.kind)) fail(`condition on PRIMARY KEY column ${c.column}`);
  if (s.conditional && s.timestamp) fail('Cannot provide custom timestamp for conditional updates');
  s.writesStaticOnly = s.kind === 'update' || s.kind === 'insert' ? staticOnly : false;
  if (s.kind === 'update' && s.conditions.some((c) => col(c.column)!.kind === 'regular') && staticOnly) fail('condition on a row while updating only static columns');
  if (s.kind === 'update' || s.kind === 'insert') {
    // A static-only conditional statement is checked against the partition's statics.
    if (staticOnly && s.conditions.some((c) => col(c.column)!.kind !== 'static')) fail('static-only update with a condition on a regular column');
  }
}

function bindAll(s: Statement, params: unknown[]): unknown[] {
  if (params.length !== s.markers.length) throw new Error(`emulator: ${s.markers.length} bind markers, ${params.length} values`);
  return params.map((p, n) => {
    const column = s.markers[n]!.column;
    const type: ColType = column ? s.table.columns.get(column)!.type : 'bigint';
    if (p === undefined) throw new Error(`emulator: value ${n} (${column ?? 'option'}) is undefined`);
    if (p === null) return null;
    if (type === 'text') {
      if (typeof p !== 'string') throw new Error(`emulator: ${column} is text, got ${typeof p} ${String(p)}`);
      return p;
    }
    const v = typeof p === 'object' && p !== null && 'toNumber' in p ? (p as types.Long).toNumber() : typeof p === 'bigint' ? Number(p) : p;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`emulator: ${column ?? 'option'} is ${type}, got ${String(p)}`);
    if (type === 'int' && Math.abs(v) > 2 ** 31) throw new Error(`emulator: ${column} is int, got ${v}`);
    return v;
  });
}

function value(e: Expr, args: unknown[]): unknown {
  return 'marker' in e ? args[e.marker] : e.literal;
}

function partitionKey(s: Statement, args: unknown[]): string {
  return JSON.stringify(s.table.partitionKey.map((k) => value(s.where.find((r) => r.column === k)?.value ?? s.values.get(k)!, args)));
}

function clusteringKey(s: Statement, args: unknown[]): string {
  return JSON.stringify(s.table.clustering.map((c) => value(s.where.find((r) => r.column === c.name)?.value ?? s.values.get(c.name)!, args)));
}

function compareValues(type: ColType, a: unknown, b: unknown): number {
  if (type === 'text') return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
  return (a as number) - (b as number);
}

function compareOp(type: ColType, current: unknown, op: Op, given: unknown): boolean {
  if (current === null || given === null) {
    if (op === '=') return current === given;
    if (op === '!=') return current !== given;
    return false;
  }
  const c = compareValues(type, current, given);
  return { '=': c === 0, '!=': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[op];
}

function compareClustering(def: TableDef, a: unknown[], b: unknown[]): number {
  for (const [i, c] of def.clustering.entries()) {
    const d = compareValues(c.type, a[i], b[i]);
    if (d !== 0) return c.desc ? -d : d;
  }
  return 0;
}

interface Cell {
  v: unknown;
  ts: number;
}

interface RowData {
  ck: unknown[];
  cells: Map<string, Cell>;
  marker: number | null;
  tomb: number;
}

/** How a write reached a row: by a lightweight transaction (Paxos ballot time) or plainly (client time). */
type WriteMode = 'lwt' | 'plain';

interface Partition {
  pk?: unknown[];
  statics: Map<string, Cell>;
  rows: Map<string, RowData>;
  tomb: number;
  /** How each row ('static' for the static row, '*' for the partition as a whole) was written. */
  writtenBy: Map<string, WriteMode>;
}

/** Roughly what a statement adds to a mutation: its values and keys, as Cassandra sizes a batch. */
function mutationSize(s: Statement, args: unknown[]): number {
  const exprs: [string, Expr][] = [...s.values.entries(), ...s.where.map((r): [string, Expr] => [r.column, r.value])];
  return exprs.reduce((n, [column, e]) => {
    const v = value(e, args);
    if (v === null || v === undefined) return n;
    const type = s.table.columns.get(column)!.type;
    return n + (type === 'text' ? Buffer.byteLength(String(v)) : type === 'int' ? 4 : 8);
  }, 0);
}

function deleteRow(r: RowData, ts: number) {
  r.tomb = Math.max(r.tomb, ts);
  if (r.marker !== null && r.marker <= ts) r.marker = null;
  for (const [k, c] of r.cells) if (c.ts <= ts) r.cells.delete(k);
}

function result(rows: CqlRow[]): CqlResult {
  return {
    rows,
    pageState: null,
    wasApplied: () => (rows[0] && '[applied]' in rows[0] ? rows[0]['[applied]'] === true : true),
  };
}

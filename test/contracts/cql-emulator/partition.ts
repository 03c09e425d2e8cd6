import { types } from 'cassandra-driver';
import type { CqlRow } from '../../../services/core/adapters/cassandra/session.ts';
import type { TableDef } from './schema.ts';
import { clusteringKey, compareClustering, compareOp, value, type Expr, type Statement } from './statement.ts';

// The data of one partition, and what reads and writes do to it: Cassandra's cells with write
// timestamps, row markers, tombstones and static columns, and which rows lightweight
// transactions write.

/** One value with the time it was written (µs). */
export interface Cell {
  v: unknown;
  ts: number;
}

/** A row: its clustering key, cells, row marker (set by INSERT) and tombstone. */
export interface RowData {
  ck: unknown[];
  cells: Map<string, Cell>;
  marker: number | null;
  tomb: number;
}

/** How a write reached a row: by a lightweight transaction (Paxos ballot time) or plainly (client time). */
export type WriteMode = 'lwt' | 'plain';

/** A partition: its key, static cells, rows, partition tombstone. */
export interface Partition {
  pk?: unknown[];
  statics: Map<string, Cell>;
  rows: Map<string, RowData>;
  tomb: number;
  /** How each row ('static' for the static row, '*' for the partition as a whole) was written. */
  writtenBy: Map<string, WriteMode>;
}

/** Roughly what a statement adds to a mutation: its values and keys, as Cassandra sizes a batch. */
export function mutationSize(s: Statement, args: unknown[]): number {
  const exprs: [string, Expr][] = [...s.values.entries(), ...s.where.map((r): [string, Expr] => [r.column, r.value])];
  return exprs.reduce((n, [column, e]) => {
    const v = value(e, args);
    if (v === null || v === undefined) return n;
    const type = s.table.columns.get(column)!.type;
    return n + (type === 'text' ? Buffer.byteLength(String(v)) : type === 'int' ? 4 : 8);
  }, 0);
}

/** Deletes a row as of `ts`: what was written before goes, a later write stays. */
function deleteRow(r: RowData, ts: number) {
  r.tomb = Math.max(r.tomb, ts);
  if (r.marker !== null && r.marker <= ts) r.marker = null;
  for (const [k, c] of r.cells) if (c.ts <= ts) r.cells.delete(k);
}

/** An empty partition. */
export const newPartition = (): Partition => ({ statics: new Map(), rows: new Map(), tomb: -Infinity, writtenBy: new Map() });

/** The live rows of a partition that `match`, in clustering order, shaped as `columns`; the static row alone when there are none and the read is not restricted. */
export function rowsOf(def: TableDef, p: Partition, match: (ck: unknown[]) => boolean, columns: string[], restricted: boolean): { ck: unknown[] | null; row: CqlRow }[] {
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
function rowsWritten(s: Statement, args: unknown[]): string[] {
  if (s.kind === 'delete') {
    const full = s.table.clustering.every((c) => s.where.some((r) => r.column === c.name));
    return s.table.clustering.length > 0 && full ? [clusteringKey(s, args)] : ['*'];
  }
  if (s.writesStaticOnly) return ['static'];
  const setsStatic = [...s.values.keys()].some((n) => s.table.columns.get(n)!.kind === 'static');
  return setsStatic ? [clusteringKey(s, args), 'static'] : [clusteringKey(s, args)];
}


export function checkWriteMode(p: Partition | undefined, s: Statement, args: unknown[], mode: WriteMode) {
  if (!p) return;
  const written = rowsWritten(s, args);
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
export function conditionsHold(p: Partition | undefined, s: Statement, args: unknown[]): boolean {
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

/** Applies a write to its partition at `ts`, noting how it was written. */
export function applyWrite(p: Partition, s: Statement, args: unknown[], ts: number, mode: WriteMode) {
  p.pk ??= s.table.partitionKey.map((name) => value(s.where.find((r) => r.column === name)?.value ?? s.values.get(name)!, args));
  for (const k of rowsWritten(s, args)) p.writtenBy.set(k, mode);
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

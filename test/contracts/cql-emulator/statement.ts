import { types } from 'cassandra-driver';
import type { ColType, TableDef } from './schema.ts';

/** A bind marker (its position) or a literal. */
export type Expr = { marker: number } | { literal: unknown };
export type Op = '=' | '<' | '<=' | '>' | '>=' | '!=';

export interface Relation {
  column: string;
  op: Op;
  value: Expr;
}

/** A parsed statement, checked against the schema. */
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

/** Binds the values of a statement's markers, checked against the columns' types. */
export function bindAll(s: Statement, params: unknown[]): unknown[] {
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

/** The value of an expression (a bound marker or a literal). */
export function value(e: Expr, args: unknown[]): unknown {
  return 'marker' in e ? args[e.marker] : e.literal;
}

/** The partition a statement addresses, as a map key. */
export function partitionKey(s: Statement, args: unknown[]): string {
  return JSON.stringify(s.table.partitionKey.map((k) => value(s.where.find((r) => r.column === k)?.value ?? s.values.get(k)!, args)));
}

/** The row a statement addresses within its partition, as a map key. */
export function clusteringKey(s: Statement, args: unknown[]): string {
  return JSON.stringify(s.table.clustering.map((c) => value(s.where.find((r) => r.column === c.name)?.value ?? s.values.get(c.name)!, args)));
}

/** Orders two values of a column type as Cassandra does (text by bytes). */
export function compareValues(type: ColType, a: unknown, b: unknown): number {
  if (type === 'text') return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
  return (a as number) - (b as number);
}

/** Whether `current op given` holds (null equals only null; no order with null). */
export function compareOp(type: ColType, current: unknown, op: Op, given: unknown): boolean {
  if (current === null || given === null) {
    if (op === '=') return current === given;
    if (op === '!=') return current !== given;
    return false;
  }
  const c = compareValues(type, current, given);
  return { '=': c === 0, '!=': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[op];
}

/** Orders two rows by clustering key, with the table's clustering order. */
export function compareClustering(def: TableDef, a: unknown[], b: unknown[]): number {
  for (const [i, c] of def.clustering.entries()) {
    const d = compareValues(c.type, a[i], b[i]);
    if (d !== 0) return c.desc ? -d : d;
  }
  return 0;
}

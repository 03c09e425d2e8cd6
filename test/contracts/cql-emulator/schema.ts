/** The column types the store uses. */
export type ColType = 'text' | 'bigint' | 'int';

export interface ColumnDef {
  type: ColType;
  kind: 'partition' | 'clustering' | 'static' | 'regular';
}

/** A table as `CREATE TABLE` defines it. */
export interface TableDef {
  name: string;
  columns: Map<string, ColumnDef>;
  columnNames: string[];
  partitionKey: string[];
  clustering: { name: string; type: ColType; desc: boolean }[];
}

/** `system.local`, as far as the health check reads it. */
export const SYSTEM_LOCAL: TableDef = {
  name: 'system.local',
  columns: new Map([['release_version', { type: 'text', kind: 'partition' }]]),
  columnNames: ['release_version'],
  partitionKey: [],
  clustering: [],
};

/** `system_schema.tables`, as far as the store reads it (the keyspace is not told apart). */
export const SYSTEM_SCHEMA_TABLES: TableDef = {
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

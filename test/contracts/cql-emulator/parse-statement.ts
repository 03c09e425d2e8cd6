import { SYSTEM_LOCAL, SYSTEM_SCHEMA_TABLES, type TableDef } from './schema.ts';
import type { Expr, Op, Relation, Statement } from './statement.ts';
import { validate } from './validate.ts';

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

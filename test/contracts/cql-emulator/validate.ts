import type { Statement } from './statement.ts';

/** The checks Cassandra makes when it prepares a statement (those that matter for this store). */
export function validate(s: Statement, query: string) {
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

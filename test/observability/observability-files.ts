import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

export const OBS_DIR = 'observability';
const run = promisify(execFile);

/** One PromQL expression and where it came from (for messages). */
export interface Expr {
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  templating?: { list?: { name: string; type: string; query?: unknown; datasource?: { uid?: string } }[] };
  panels: Panel[];
}

export function readDashboardFiles(): { file: string; dashboard: Dashboard }[] {
  const dir = join(OBS_DIR, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: join(dir, f), dashboard: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard }));
}

export function panelsOf(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Every panel query of every dashboard. */
export function dashboardExprs(): Expr[] {
  return readDashboardFiles().flatMap(({ file, dashboard }) =>
    panelsOf(dashboard).flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `${file}: ${p.title}`, expr: t.expr! }))),
  );
}

export const RULES_FILE = join(OBS_DIR, 'alerts', 'chat4all.rules.yaml');

/** Every rule expression of every rule file. */
export function ruleExprs(): Expr[] {
  const dir = join(OBS_DIR, 'alerts');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => {
      const doc = parse(readFileSync(join(dir, f), 'utf8')) as { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] };
      return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `${f}: ${r.alert ?? r.record}`, expr: String(r.expr) })));
    });
}

/**
 * A dashboard query as plain PromQL: Grafana's interval variables become durations and template
 * variables a match-everything value, so promtool can parse it.
 */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)/g, '5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, '.*');
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (functions, labels, keywords and durations left out). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue; // a function call
    if (KEYWORDS.has(m[1]!.toLowerCase())) continue;
    const before = stripped[(m.index ?? 0) - 1];
    if (before && /[0-9.]/.test(before)) continue; // part of a number such as 1e-9
    names.add(m[1]!);
  }
  return [...names];
}

/** Runs `promtool check rules` on a file; resolves with its output, rejects with it on failure. */
export async function promtoolCheckRules(file: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', ['check', 'rules', file], { timeout: 30_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool check rules ${file} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** One documented metric row of docs/metrics.md. */
export interface DocumentedMetric {
  name: string;
  type: string;
  labels: string[];
  roles: string[];
}

/** The catalogue of docs/metrics.md: every table row whose first cell is a backticked metric name. */
export function documentedMetrics(path = 'docs/metrics.md'): DocumentedMetric[] {
  const out: DocumentedMetric[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\|\s*`([a-zA-Z_:*][a-zA-Z0-9_:*]*)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m) continue;
    out.push({
      name: m[1]!,
      type: m[2]!,
      labels: [...m[3]!.matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map((l) => l[1]!),
      roles: m[4]!.split(',').map((r) => r.trim()).filter(Boolean),
    });
  }
  return out;
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';

/** A Grafana dashboard as its JSON text, named after its file. */
export interface DashboardFile { name: string; fileName: string; json: string }
/** A Prometheus rule group (rule-file format). */
export interface RuleGroup { name: string; interval?: string; rules: Record<string, unknown>[] }

/** Lower-case DNS-1123 form of a file's base name: `Chat4All Overview.json` → `chat4all-overview`. */
export const objectSuffix = (fileName: string) =>
  basename(fileName).replace(/\.(json|ya?ml)$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');

/** Every `*.json` in `dir`, sorted by name; none when the folder does not exist yet. */
export function readDashboards(dir: string): DashboardFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((fileName) => {
      const json = readFileSync(join(dir, fileName), 'utf8');
      JSON.parse(json); // a broken dashboard fails synthesis, not Grafana's sidecar at 3 a.m.
      return { name: objectSuffix(fileName), fileName, json };
    });
}

/** The groups of every `*.yaml`/`*.yml` rule file in `dir`, sorted by file name. */
export function readRuleGroups(dir: string): RuleGroup[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => {
      const doc = parse(readFileSync(join(dir, f), 'utf8')) as { groups?: RuleGroup[] } | null;
      if (!doc || !Array.isArray(doc.groups)) throw new Error(`${join(dir, f)}: not a Prometheus rule file (expected a top-level groups: list)`);
      return doc.groups;
    });
}

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseExperimentSpec, type ExperimentSpec } from './experiment-spec.ts';

/** The folder of the example definitions. */
export const EXPERIMENTS_DIR = fileURLToPath(new URL('./experiments/', import.meta.url));

/** Every definition in `dir` (`*.yaml`), validated, by file name order. */
export function listExperiments(dir = EXPERIMENTS_DIR): ExperimentSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => loadExperimentFile(join(dir, f)));
}

export function loadExperimentFile(path: string): ExperimentSpec {
  return parseExperimentSpec(parse(readFileSync(path, 'utf8')), path);
}

/** A definition by name from the catalog, or from a file path. */
export function findExperiment(nameOrPath: string, dir = EXPERIMENTS_DIR): ExperimentSpec {
  if ((nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml')) && existsSync(nameOrPath)) return loadExperimentFile(nameOrPath);
  const all = listExperiments(dir);
  const spec = all.find((s) => s.name === nameOrPath);
  if (!spec) throw new Error(`no experiment named "${nameOrPath}"; known: ${all.map((s) => s.name).join(', ')}`);
  return spec;
}

/**
 * Scales a definition's timing to a total load duration (`--duration`), keeping the phases'
 * proportions, and/or sets its rate (`--rate`).
 */
export function withOverrides(spec: ExperimentSpec, o: { durationS?: number; rate?: number }): ExperimentSpec {
  const t = spec.timing;
  const total = t.warmup_s + t.fault_duration_s + t.observe_s;
  const k = o.durationS ? o.durationS / total : 1;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    ...spec,
    timing: { ...t, warmup_s: r1(t.warmup_s * k), fault_duration_s: r1(t.fault_duration_s * k), observe_s: r1(t.observe_s * k) },
    load: { ...spec.load, rate: o.rate ?? spec.load.rate },
  };
}

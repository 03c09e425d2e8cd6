import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { Chat4AllChart, type Chat4AllChartOptions } from '../chat4all-chart.ts';
import type { Chat4AllPropsInput } from '../chart-props.ts';
import { helm } from './helm.ts';

process.env.CDK8S_CHECK_UPGRADE = 'false';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'chat4all');

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
};

/** The objects the cdk8s chart synthesizes for these settings. */
export function synth(settings: Chat4AllPropsInput, spec: z.ZodType, extra: Partial<Chat4AllChartOptions> = {}): K8sObject[] {
  const app = Testing.app() as App;
  const chart = new Chat4AllChart(app, 'test', { settings, experimentSpecSchema: spec, ...extra });
  return chart.toJson() as K8sObject[];
}

/** `helm template` of a chart folder with values files and/or an object; throws with helm's stderr. */
export async function helmTemplate(opts: { chart?: string; release?: string; namespace?: string; valuesFiles?: string[]; values?: object }): Promise<K8sObject[]> {
  const r = await helmTemplateRaw(opts);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export async function helmTemplateRaw(opts: { chart?: string; release?: string; namespace?: string; valuesFiles?: string[]; values?: object }) {
  const args = ['template', opts.release ?? 'chat4all', opts.chart ?? CHART_DIR, '--namespace', opts.namespace ?? 'chat4all', '--include-crds'];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  if (opts.values) {
    const f = join(mkdtempSync(join(tmpdir(), 'chat4all-values-')), 'values.json');
    writeFileSync(f, JSON.stringify(opts.values));
    args.push('-f', f);
  }
  return helm(args);
}

/** Drops what only says which tool made an object, so cdk8s and Helm output compare equal. */
export function normalize(objs: K8sObject[]): Map<string, unknown> {
  const strip = (labels?: Record<string, string>) => {
    if (!labels) return labels;
    const { 'app.kubernetes.io/managed-by': _m, 'helm.sh/chart': _c, ...rest } = labels;
    return rest;
  };
  const out = new Map<string, unknown>();
  for (const o of objs) {
    const copy = JSON.parse(JSON.stringify(o)) as K8sObject;
    copy.metadata.labels = strip(copy.metadata.labels);
    const tpl = (copy.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
    if (tpl?.metadata) tpl.metadata.labels = strip(tpl.metadata.labels);
    out.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, copy);
  }
  return out;
}

export const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
export const named = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

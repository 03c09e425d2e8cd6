import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal, ProbeResult, RuleResult } from './journal.ts';
import { renderHtmlReport } from './report-html.ts';
import { esc } from '../loadtest/svg-chart.ts';

/** Where runs go unless `--out` says otherwise. */
export const DEFAULT_EVIDENCE_ROOT = 'reports/experiments';

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** One JUnit test case per steady-state probe (before and after), per verification rule, and for the fault's proof. */
export function junitXml(j: Journal): string {
  const cases: string[] = [];
  const add = (classname: string, name: string, ok: boolean | null, message: string, detail: string) => {
    const body = ok === null ? `<skipped message="${xml(message)}"/>` : ok ? '' : `<failure message="${xml(message)}">${xml(detail)}</failure>`;
    cases.push(`    <testcase classname="${xml(classname)}" name="${xml(name)}">${body}${ok ? `<system-out>${xml(detail)}</system-out>` : ''}</testcase>`);
  };
  const probe = (phase: string) => (p: ProbeResult) =>
    add(`${j.experiment.name}.steady-state-${phase}`, p.name, p.ok, `observed ${p.observed}, tolerance ${p.tolerance}`, `${p.name}: observed ${p.observed} (${p.source}); tolerance ${p.tolerance}`);
  j.steady_state_before.probes.forEach(probe('before'));
  add(`${j.experiment.name}.method`, 'the fault landed', j.injection ? j.injection.landed : null, j.injection ? (j.injection.landed ? 'landed' : 'no proof that the fault landed') : 'the fault was not injected', j.injection?.proof.join('\n') ?? j.reason);
  j.steady_state_after.probes.forEach(probe('after'));
  j.verification.rules.forEach((r: RuleResult) => add(`${j.experiment.name}.verification`, r.name, r.ok, r.message, `${r.name}: ${r.message}`));
  add(`${j.experiment.name}.rollback`, 'the platform was restored', j.rollback.ok, j.rollback.errors.join('; ') || 'restored', j.rollback.steps.map((s) => `${s.step}${s.detail ? `: ${s.detail}` : ''}`).join('\n'));
  const failures = cases.filter((c) => c.includes('<failure')).length;
  const skipped = cases.filter((c) => c.includes('<skipped')).length;
  const seconds = (Date.parse(j.ended_at) - Date.parse(j.started_at)) / 1000;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chat4all-experiments" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="${xml(j.experiment.name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${seconds}" timestamp="${j.started_at}">`,
    `    <properties><property name="verdict" value="${j.verdict}"/><property name="run_id" value="${xml(j.run_id)}"/><property name="reason" value="${xml(j.reason)}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const num = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'number' ? String(v) : JSON.stringify(v));

/** The Markdown report: verdict, the numbers, each probe and rule, what was injected, the timeline. */
export function markdownReport(j: Journal): string {
  const v = j.verification;
  const lines = [
    `# Experiment ${j.experiment.name}: **${j.verdict}**`,
    '',
    `${j.reason}.`,
    '',
    `Run \`${j.run_id}\` on the ${j.platform} platform, ${j.started_at} → ${j.ended_at}.`,
    '',
    j.experiment.description,
    '',
    '## Numbers',
    '',
    '| metric | value |',
    '| --- | --- |',
    ...Object.entries(v)
      .filter(([k]) => k !== 'rules')
      .map(([k, x]) => `| ${k} | ${num(x)} |`),
    '',
  ];
  if (j.load) {
    lines.push(
      `Load: offered ${j.load.offered}, accepted ${j.load.accepted}, failed ${j.load.failed}, delivered ${j.load.delivered}; answers ${JSON.stringify(j.load.answers)}; HTTP p99 ${j.load.http_ms.p99} ms; e2e p50 ${j.load.e2e_ms.p50} ms, p99 ${j.load.e2e_ms.p99} ms.`,
      '',
    );
  }
  const probes = (title: string, s: Journal['steady_state_before']) => [
    `## Steady state ${title} (${s.window_s ? `${s.window_s[0]}–${s.window_s[1]} s` : 'no window'}): ${s.ok ? 'met' : 'NOT met'}`,
    '',
    '| probe | tolerance | observed | ok | how |',
    '| --- | --- | --- | --- | --- |',
    ...s.probes.map((p) => `| ${p.name} | ${p.tolerance} | ${num(p.observed)} | ${p.ok ? 'yes' : '**no**'} | ${p.source} |`),
    '',
  ];
  lines.push(...probes('before', j.steady_state_before), ...probes('after', j.steady_state_after));
  lines.push('## Verification', '', '| rule | observed | ok |', '| --- | --- | --- |', ...v.rules.map((r) => `| ${r.name} | ${num(r.observed)} | ${r.ok ? 'yes' : `**no**: ${r.message}`} |`), '');
  lines.push('## What was injected', '');
  if (j.injection) {
    lines.push(`- ${j.injection.type} on ${j.injection.targets.join(', ')} at ${j.injection.t_s} s (${j.injection.at}), stopped ${j.injection.stopped_t_s === null ? 'never (until the rollback)' : `at ${j.injection.stopped_t_s} s`}`);
    lines.push(`- landed: ${j.injection.landed ? 'yes' : '**no**'}`);
    for (const p of j.injection.proof) lines.push(`- proof: ${p}`);
    lines.push('', '```json', JSON.stringify(j.injection.details, null, 2), '```');
  } else {
    lines.push('Nothing was injected.');
  }
  lines.push('', '## Method', '', '| t (s) | step | detail |', '| --- | --- | --- |', ...j.method.map((m) => `| ${m.t_s} | ${m.step} | ${(m.detail ?? '').replace(/\|/g, '\\|')} |`), '');
  lines.push(`## Rollback: ${j.rollback.ok ? 'complete' : '**incomplete**'}`, '', ...j.rollback.steps.map((s) => `- ${s.t_s} s: ${s.step}${s.detail ? `: ${s.detail}` : ''}`), '');
  if (j.notes.length) lines.push('## Notes', '', ...j.notes.map((n) => `- ${n}`), '');
  lines.push('## Plan', '', ...j.plan.map((p, i) => `${i + 1}. ${p}`), '');
  return lines.join('\n');
}

/** Writes `journal.json`, `junit.xml`, `report.md` and `report.html` into `<root>/<run_id>/`, then refreshes `<root>/index.html`. */
export function writeEvidence(root: string, j: Journal): string {
  const dir = join(root, j.run_id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'journal.json'), `${JSON.stringify(j, null, 2)}\n`);
  writeFileSync(join(dir, 'junit.xml'), junitXml(j));
  writeFileSync(join(dir, 'report.md'), markdownReport(j));
  writeFileSync(join(dir, 'report.html'), renderHtmlReport(j));
  writeIndex(root);
  return dir;
}

/** `index.html`: every run under `root`, newest first, with its verdict and key numbers. */
export function writeIndex(root: string): string {
  const runs: { dir: string; j: Pick<Journal, 'experiment' | 'verdict' | 'started_at' | 'reason' | 'verification'> }[] = [];
  for (const d of existsSync(root) ? readdirSync(root, { withFileTypes: true }) : []) {
    if (!d.isDirectory()) continue;
    const f = join(root, d.name, 'journal.json');
    if (!existsSync(f)) continue;
    try {
      runs.push({ dir: d.name, j: JSON.parse(readFileSync(f, 'utf8')) as Journal });
    } catch {
      // a journal being written or broken: left out
    }
  }
  runs.sort((a, b) => b.j.started_at.localeCompare(a.j.started_at));
  const color = { Pass: '#1a7f37', Fail: '#cf222e', Inconclusive: '#9a6700' } as const;
  const rows = runs.map(
    ({ dir, j }) =>
      `<tr><td>${esc(j.started_at)}</td><td><a href="${esc(dir)}/report.html">${esc(j.experiment.name)}</a></td><td style="color:${color[j.verdict]};font-weight:600">${j.verdict}</td><td>${num(j.verification.accepted)}</td><td>${num(j.verification.lost)}</td><td>${num(j.verification.duplicates)}</td><td>${num(j.verification.recovery_seconds)}</td><td>${esc(j.reason)}</td><td><a href="${esc(dir)}/journal.json">journal</a> · <a href="${esc(dir)}/junit.xml">junit</a> · <a href="${esc(dir)}/report.md">md</a></td></tr>`,
  );
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Chat4All experiments</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;font-size:14px;vertical-align:top}</style></head>
<body><h1>Chat4All experiments</h1><p>${runs.length} run(s). Each links to its report, journal and JUnit file.</p>
<table><thead><tr><th>started</th><th>experiment</th><th>verdict</th><th>accepted</th><th>lost</th><th>duplicates</th><th>recovery s</th><th>why</th><th>evidence</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), html);
  return join(root, 'index.html');
}

import { resolve } from 'node:path';
import { findExperiment, listExperiments, withOverrides } from '../../operator/catalog.ts';
import { planExperiment, runExperiment, BlastRadiusError, type EngineEvent } from '../../operator/engine.ts';
import { DEFAULT_EVIDENCE_ROOT, writeEvidence } from '../../operator/evidence.ts';
import { startExperimentPlatform } from '../../operator/local-driver.ts';
import type { Instance } from '../../operator/driver.ts';
import type { ExperimentSpec } from '../../operator/experiment-spec.ts';

export const EXPERIMENT_USAGE = `usage:
  chat4all experiment list
  chat4all experiment run <name|all|file.yaml> [--platform local] [--out DIR] [--dry-run] [--duration S] [--rate N]

  run starts a fresh local platform (the embedded default driver), runs the experiment(s) on it,
  writes journal.json, junit.xml, report.md and report.html per run under --out
  (default ${DEFAULT_EVIDENCE_ROOT}) and an index.html of every run. Exit code 0 only if every run
  passed; 1 Fail or Inconclusive; 2 bad usage or a refused plan; 130 interrupted (rolled back).
  --dry-run prints the targets and the plan and touches nothing.
`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The instances a fresh local platform runs, for a dry run (nothing is started). */
function localLayout(): Instance[] {
  const names: [string, Instance['workload']][] = [
    ['broker', 'broker'],
    ['provider-sim', 'provider-sim'],
    ['connector-whatsapp', 'connector-whatsapp'],
    ['connector-instagram', 'connector-instagram'],
    ['router-1', 'router'],
    ['router-2', 'router'],
    ['api', 'api'],
  ];
  return names.map(([name, workload]) => ({ name, workload, state: 'running', pid: null, url: null, started_at: null }));
}

export async function experimentCommand(args: string[], out: (s: string) => void): Promise<number> {
  const [sub, what] = args;
  if (sub === 'list') {
    for (const s of listExperiments()) {
      const t = s.timing;
      out(`${s.name.padEnd(18)} ${s.fault.type.padEnd(16)} target ${s.target.workload.padEnd(20)} ${s.load.rate} msg/s, ${t.warmup_s + t.fault_duration_s + t.observe_s} s`);
    }
    return 0;
  }
  if (sub !== 'run' || !what) {
    out(EXPERIMENT_USAGE);
    return 2;
  }
  const platform = flag(args, 'platform') ?? 'local';
  if (platform !== 'local') {
    out(`only --platform local is available here (the Kubernetes driver comes with the operator); got ${platform}`);
    return 2;
  }
  const durationS = flag(args, 'duration') !== undefined ? Number(flag(args, 'duration')) : undefined;
  const rate = flag(args, 'rate') !== undefined ? Number(flag(args, 'rate')) : undefined;
  if ((durationS !== undefined && !(durationS > 0)) || (rate !== undefined && !(rate > 0))) {
    out('--duration and --rate take positive numbers');
    return 2;
  }
  const root = resolve(flag(args, 'out') ?? DEFAULT_EVIDENCE_ROOT);
  let specs: ExperimentSpec[];
  try {
    specs = (what === 'all' ? listExperiments() : [findExperiment(what)]).map((s) => withOverrides(s, { durationS, rate }));
  } catch (err) {
    out((err as Error).message);
    return 2;
  }

  // The plan first: a blast-radius refusal stops everything before anything starts.
  for (const spec of specs) {
    try {
      const plan = planExperiment(spec, localLayout());
      if (args.includes('--dry-run')) {
        out(`${spec.name} (dry run, nothing touched)\n  targets: ${plan.targets.join(', ')}\n  plan:\n${plan.steps.map((s, i) => `    ${i + 1}. ${s}`).join('\n')}`);
      }
    } catch (err) {
      if (err instanceof BlastRadiusError) {
        out(`${spec.name}: ${err.message}`);
        return 2;
      }
      throw err;
    }
  }
  if (args.includes('--dry-run')) return 0;

  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      out('\ninterrupted: rolling back (Ctrl-C again to stop the platform at once)');
      abort.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  const tty = process.stdout.isTTY;
  let lastLine = 0;
  const onEvent = (e: EngineEvent) => {
    if (e.kind === 'step') {
      if (tty) process.stdout.write('\r\x1b[K');
      out(`  ${e.message}`);
      return;
    }
    const p = e.progress!;
    const line = `  t=${(p.elapsed_ms / 1000).toFixed(0)}s offered ${p.offered} accepted ${p.accepted} failed ${p.failed} delivered ${p.delivered} in flight ${p.in_flight}`;
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastLine >= 5000) {
      lastLine = Date.now();
      out(line);
    }
  };

  out(`starting a local platform (broker, provider simulator, connectors, 2 routers, API) …`);
  const local = await startExperimentPlatform({ logLevel: 'warn' });
  let allPass = true;
  try {
    for (const spec of specs) {
      if (abort.signal.aborted) break;
      out(`\n▶ ${spec.name}: ${spec.fault.type} on ${spec.target.workload}`);
      const journal = await runExperiment(spec, local.driver, { signal: abort.signal, onEvent });
      if (tty) process.stdout.write('\r\x1b[K');
      const dir = writeEvidence(root, journal);
      const v = journal.verification;
      const extra = spec.fault.type === 'scale' ? ` throughput ${v.throughput_1} → ${v.throughput_2}/s, speed-up ${v.speedup}×` : '';
      out(`■ ${spec.name}: ${journal.verdict} — accepted ${v.accepted}, lost ${v.lost}, duplicates ${v.duplicates}, recovery ${v.recovery_seconds ?? '—'} s${extra}`);
      out(`  ${journal.reason}`);
      out(`  report: ${dir}/report.html`);
      if (journal.verdict !== 'Pass') allPass = false;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await local.stop();
  }
  out(`\nreports: ${root}/index.html`);
  if (abort.signal.aborted) return 130;
  return allPass ? 0 : 1;
}

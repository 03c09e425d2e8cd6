import type { LoadTarget } from '../../loadtest/generator.ts';
import { progressPrinter } from '../../loadtest/report.ts';
import { runScenario } from '../../loadtest/run-scenario.ts';
import { SCENARIOS, SCENARIO_NAMES, UnknownScenarioError, planScenario, type PlanOverrides } from '../../loadtest/scenarios.ts';
import { realtimeCommand, REALTIME_USAGE } from './realtime-loadtest-command.ts';
import { fileUploadCommand, FILE_UPLOAD_USAGE } from './file-upload-loadtest-command.ts';
import { control, controlTarget } from './platform-command.ts';

export const LOADTEST_USAGE = `usage: chat4all loadtest <scenario> [--rate N] [--duration S] [--conversations N] [--deadline S] [--target URL] [--sim URL] [--out DIR]

scenarios (1 user = 1 conversation sending 1 msg/s; --rate sets the starting rate, stages keep their shape;
--duration sets the total seconds, stages keep their proportions; --deadline: seconds after the last
send before an undelivered message counts as lost):
${SCENARIO_NAMES.map((n) => `  ${n.padEnd(9)} ${SCENARIOS[n]!.description}`).join('\n')}
${FILE_UPLOAD_USAGE}
${REALTIME_USAGE}

Without --target it drives the platform 'make up' started (.data/platform.json), simulator included.
Exit code: 0 thresholds passed, 1 thresholds failed, 2 bad usage, 3 the run itself failed.`;

const VALUE_FLAGS = ['rate', 'duration', 'conversations', 'deadline', 'target', 'sim', 'out'] as const;
type Flag = (typeof VALUE_FLAGS)[number];

/** A usage problem: exit 2 with the message and the usage. */
export class UsageError extends Error {}

export interface LoadtestArgs {
  scenario: string;
  overrides: PlanOverrides;
  target?: string;
  sim?: string;
  out?: string;
}

/** Parses `loadtest` arguments strictly: an unknown flag, a missing value or a bad number is an error. */
export function parseLoadtestArgs(args: string[]): LoadtestArgs {
  const flags: Partial<Record<Flag, string>> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) throw new UsageError(`unknown flag --${name}`);
    const value = inline ?? args[++i];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    flags[name as Flag] = value;
  }
  if (positional.length === 0) throw new UsageError('which scenario?');
  if (positional.length > 1) throw new UsageError(`one scenario at a time, got: ${positional.join(' ')}`);
  const num = (name: Flag) => {
    const v = flags[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
    return n;
  };
  const url = (name: Flag) => {
    const v = flags[name];
    if (v === undefined) return undefined;
    if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new UsageError(`--${name} must be an http(s) URL, got "${v}"`);
    return v.replace(/\/$/, '');
  };
  const conversations = num('conversations');
  const deadline = num('deadline');
  if (conversations !== undefined && !Number.isInteger(conversations)) throw new UsageError(`--conversations must be a whole number`);
  return {
    scenario: positional[0]!,
    overrides: { rate: num('rate'), duration_s: num('duration'), conversations, delivery_deadline_ms: deadline === undefined ? undefined : deadline * 1000 },
    target: url('target'),
    sim: url('sim'),
    out: flags.out,
  };
}

/** The API and simulator of the platform `make up` runs, from `.data/platform.json` and its control API. */
async function runningPlatform(): Promise<{ apiUrl: string; simUrl: string }> {
  let target: { url: string };
  try {
    target = controlTarget();
  } catch (err) {
    throw new Error(`${(err as Error).message}, or pass --target and --sim`);
  }
  const procs = await control<{ api_url?: string; sim_url?: string }>('GET', '/processes');
  const apiUrl = procs.api_url;
  if (!apiUrl || !procs.sim_url) throw new Error(`${target.url}/processes names no api_url or sim_url`);
  return { apiUrl, simUrl: procs.sim_url };
}

async function resolveTarget(a: LoadtestArgs): Promise<LoadTarget> {
  if (a.target && a.sim) return { apiUrl: a.target, simUrl: a.sim };
  if (a.target && process.env.CHAT4ALL_SIM) return { apiUrl: a.target, simUrl: process.env.CHAT4ALL_SIM };
  let running: { apiUrl: string; simUrl: string };
  try {
    running = await runningPlatform();
  } catch (err) {
    if (a.target) throw new Error(`--target needs --sim URL too (the provider simulator shows what was delivered): ${(err as Error).message}`);
    throw err;
  }
  return { apiUrl: a.target ?? running.apiUrl, simUrl: a.sim ?? running.simUrl };
}

/** `chat4all loadtest …`; resolves with the exit code. */
export async function loadtestCommand(args: string[], out: (s: string) => void, err: (s: string) => void = out): Promise<number> {
  if (args[0] === 'realtime') return realtimeCommand(args.slice(1), out, err);
  if (args[0] === 'file-upload') return fileUploadCommand(args.slice(1), out, err);
  if (args.includes('--help') || args.includes('-h')) {
    out(LOADTEST_USAGE);
    return 0;
  }
  let parsed: LoadtestArgs;
  try {
    parsed = parseLoadtestArgs(args);
    planScenario(parsed.scenario, parsed.overrides); // unknown scenario or bad numbers: say so before any set-up
  } catch (e) {
    if (e instanceof UsageError || e instanceof UnknownScenarioError) {
      err(`chat4all loadtest: ${e.message}\n\n${LOADTEST_USAGE}`);
      return 2;
    }
    throw e;
  }
  let target: LoadTarget;
  try {
    target = await resolveTarget(parsed);
  } catch (e) {
    err(`chat4all loadtest: ${(e as Error).message}`);
    return 3;
  }

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    err('\nstopping the load (Ctrl-C again to quit at once) …');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = progressPrinter(process.stderr);
  try {
    const run = await runScenario({
      scenario: parsed.scenario,
      overrides: parsed.overrides,
      target,
      outDir: parsed.out,
      signal: abort.signal,
      onProgress: (line) => progress.update(line),
    });
    progress.done();
    const v = run.report.verdict;
    out(`\n${run.report.scenario}: ${v.status.toUpperCase()}${v.error ? ` (${v.error})` : ''}`);
    for (const c of v.checks) out(`  ${c.pass ? 'pass' : 'FAIL'}  ${c.name.padEnd(13)} ${String(c.actual).padStart(10)}  (${c.limit})`);
    const r = run.report.result;
    if (r) {
      out(`  offered ${r.offered}, accepted ${r.accepted} (${r.accepted_per_s}/s), delivered ${r.delivered} (${r.delivered_per_s}/s), lost ${r.lost}, duplicates ${r.duplicates}, out of order ${r.out_of_order}`);
      out(`  HTTP p50/p95/p99 ${r.http_ms.p50}/${r.http_ms.p95}/${r.http_ms.p99} ms; accept→delivered p50/p99 ${r.e2e_ms.p50}/${r.e2e_ms.p99} ms`);
    }
    out(`  reports: ${run.files.markdown}, ${run.files.html}, ${run.files.json}`);
    return run.exitCode;
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}

import { prepareConversations, runOpenLoad, type LoadTarget, type LoadResult } from './generator.ts';
import { planScenario, type PlanOverrides } from './scenarios.ts';
import { judge, type Verdict } from './verdict.ts';
import { defaultReportDir, progressLine, writeReports, type LoadReport, type ReportFiles } from './report.ts';
import { gitCommit } from './environment.ts';

export interface ScenarioRunOptions {
  scenario: string;
  overrides?: PlanOverrides;
  target: LoadTarget;
  /** @default reports/loadtest/<scenario>-<timestamp> */
  outDir?: string;
  signal?: AbortSignal;
  /** Receives a progress line about once per second (and set-up notes). */
  onProgress?: (line: string) => void;
  /** Passed to the generator. */
  connections?: number;
  maxInFlight?: number;
}

export interface ScenarioRun {
  report: LoadReport;
  files: ReportFiles;
  /** 0 passed, 1 thresholds failed, 3 the run itself failed (never 0 then). */
  exitCode: 0 | 1 | 3;
}

/**
 * One named scenario end to end: plan (scaled by the overrides), set-up, the open-model run,
 * the verdict against the thresholds, and the reports. An unknown scenario or a bad override
 * throws before anything is sent; a failure after that is reported as an `error` verdict.
 */
export async function runScenario(o: ScenarioRunOptions): Promise<ScenarioRun> {
  const plan = planScenario(o.scenario, o.overrides);
  const { rate: _rate, ...planView } = plan;
  let result: LoadResult | null = null;
  let verdict: Verdict;
  try {
    o.onProgress?.(`[${plan.scenario}] preparing ${plan.conversations} conversations at ${o.target.apiUrl} …`);
    const prepared = await prepareConversations(o.target, plan.conversations);
    result = await runOpenLoad({
      target: o.target,
      prepared,
      rate: plan.rate,
      durationMs: plan.duration_ms,
      deliveryDeadlineMs: plan.delivery_deadline_ms,
      signal: o.signal,
      onProgress: (p) => o.onProgress?.(progressLine(plan.scenario, p, plan.duration_ms)),
      ...(o.connections ? { connections: o.connections } : {}),
      ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}),
    });
    verdict = judge(result, plan.thresholds);
  } catch (err) {
    verdict = { status: 'error', checks: [], error: (err as Error).message };
  }
  const report: LoadReport = {
    scenario: plan.scenario,
    description: plan.description,
    verdict,
    plan: planView,
    target: { api_url: o.target.apiUrl, sim_url: o.target.simUrl },
    result,
    git_commit: gitCommit(),
    generated_at: new Date().toISOString(),
  };
  const files = writeReports(o.outDir ?? defaultReportDir(plan.scenario), report);
  const exitCode = verdict.status === 'passed' ? 0 : verdict.status === 'failed' ? 1 : 3;
  return { report, files, exitCode };
}

import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from '../services/cli/http-client.ts';
import { uploadFile } from '../services/cli/file-upload.ts';
import { gitCommit, machineInfo, type MachineInfo } from './environment.ts';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.ts';
import { writeTestFile } from './test-file.ts';
import { esc, lineChart } from './svg-chart.ts';
import type { Check, Verdict } from './verdict.ts';

/** What `loadtest file-upload` does: the brief's profile by default. */
export interface FileUploadPlan {
  /** Uploaders at once, each one file after the other (closed model: a person waits for the upload). @default 10 */
  users: number;
  /** Seconds during which new uploads start. @default 30 */
  durationS: number;
  /** Smallest and largest file, bytes; each upload picks a size uniformly between. @default 100 KB, 1 MB */
  minBytes: number;
  maxBytes: number;
  /** Upload time (session created → `ready`) p95 must stay under this. @default 2000 */
  p95LimitMs: number;
  apiUrl: string;
}

/** The numbers of one run. */
export interface FileUploadResult {
  users: number;
  started: number;
  ready: number;
  failed: number;
  /** Failures by message (the first words), for the report. */
  errors: Record<string, number>;
  bytes: number;
  /** Each upload from its first request (the hash and the session included) to `ready`, ms. */
  upload_ms: LatencySummary;
  /** Uploaded bytes ÷ the run's wall time. */
  mb_per_s: number;
  uploads_per_s: number;
  timeline: { t_s: number; ready: number; p95_ms: number }[];
  started_at: string;
  ended_at: string;
}

export interface FileUploadReport {
  scenario: 'file-upload';
  description: string;
  plan: Omit<FileUploadPlan, 'apiUrl'>;
  target: { api_url: string };
  verdict: Verdict;
  result: FileUploadResult | null;
  machine: MachineInfo;
  git_commit: string | null;
  generated_at: string;
}

const PASSWORD = 'correct horse battery';

/** A fresh user, signed in; `client` talks to the API as them. */
export async function signUp(apiUrl: string, prefix: string): Promise<{ userId: string; client: HttpClient }> {
  const anon = new HttpClient(apiUrl, undefined, 30_000);
  const username = `${prefix}_${randomBytes(5).toString('hex')}`;
  const reg = await anon.request<{ user_id: string }>('POST', '/auth/register', { username, password: PASSWORD });
  const tok = await anon.request<{ access_token: string }>('POST', '/auth/token', { username, password: PASSWORD });
  return { userId: reg.user_id, client: new HttpClient(apiUrl, tok.access_token, 30_000) };
}

/** A user with a private conversation with a peer: who uploads, and where the file belongs. */
export async function uploader(apiUrl: string, peerId: string, prefix = 'fu') {
  const u = await signUp(apiUrl, prefix);
  const c = await u.client.request<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [peerId] });
  return { ...u, conversationId: c.conversation_id };
}

/**
 * `loadtest file-upload`: `users` uploaders, each uploading files of `minBytes`–`maxBytes` one
 * after the other, end to end to `ready` (hash, session, part PUTs to object storage, complete,
 * server-side verification) with the CLI's own upload client, for `durationS` seconds.
 */
export async function runFileUpload(plan: FileUploadPlan, log: (line: string) => void = () => undefined, signal?: AbortSignal): Promise<FileUploadResult> {
  const work = mkdtempSync(join(tmpdir(), 'chat4all-fileload-'));
  try {
    log(`setting up ${plan.users} uploaders …`);
    const peer = await signUp(plan.apiUrl, 'fu_peer');
    const users = [];
    for (let i = 0; i < plan.users; i++) users.push(await uploader(plan.apiUrl, peer.userId));
    const histogram = new LatencyHistogram();
    const perSecond = new Map<number, LatencyHistogram>();
    const errors: Record<string, number> = {};
    let started = 0;
    let ready = 0;
    let failed = 0;
    let bytes = 0;
    const t0 = Date.now();
    const startedAt = new Date(t0).toISOString();
    const deadline = t0 + plan.durationS * 1000;
    log(`uploading for ${plan.durationS} s …`);
    const ticker = setInterval(() => log(`[file-upload] ${Math.round((Date.now() - t0) / 1000)}s  started ${started}  ready ${ready}  failed ${failed}  p95 ${histogram.at(95)} ms`), 5000);
    await Promise.all(
      users.map(async (u, i) => {
        const dir = join(work, `u${i}`);
        mkdirSync(dir);
        for (let n = 0; Date.now() < deadline && !signal?.aborted; n++) {
          const size = randomInt(plan.minBytes, plan.maxBytes + 1);
          const path = join(dir, `f${n}.bin`);
          writeFileSync(path, randomBytes(size));
          started++;
          const began = Date.now();
          try {
            await uploadFile({ api: u.client, userId: u.userId, stateDir: join(dir, 'state'), path, conversationId: u.conversationId, signal, pollMs: 100 });
            const ms = Date.now() - began;
            histogram.record(ms);
            const sec = Math.floor((Date.now() - t0) / 1000);
            if (!perSecond.has(sec)) perSecond.set(sec, new LatencyHistogram(2));
            perSecond.get(sec)!.record(ms);
            ready++;
            bytes += size;
          } catch (err) {
            if (signal?.aborted) break;
            failed++;
            const key = (err as Error).message.slice(0, 80);
            errors[key] = (errors[key] ?? 0) + 1;
          } finally {
            rmSync(path, { force: true });
          }
        }
      }),
    );
    clearInterval(ticker);
    const ended = Date.now();
    const wallS = Math.max(0.001, (ended - t0) / 1000);
    const timeline = [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([t, h]) => ({ t_s: t, ready: h.count, p95_ms: h.at(95) }));
    for (const h of perSecond.values()) h.destroy();
    const upload = histogram.summary();
    histogram.destroy();
    return {
      users: plan.users,
      started,
      ready,
      failed,
      errors,
      bytes,
      upload_ms: upload,
      mb_per_s: Math.round((bytes / 1e6 / wallS) * 100) / 100,
      uploads_per_s: Math.round((ready / wallS) * 100) / 100,
      timeline,
      started_at: startedAt,
      ended_at: new Date(ended).toISOString(),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The brief's bound (p95 < 2 s) and no failed upload; a run that made nothing `ready` never passes. */
export function judgeFileUpload(r: FileUploadResult, plan: Pick<FileUploadPlan, 'p95LimitMs'>, aborted = false): Verdict {
  const checks: Check[] = [
    { name: 'ready', limit: '> 0', actual: r.ready, pass: r.ready > 0 },
    { name: 'upload p95', limit: `< ${plan.p95LimitMs} ms`, actual: r.upload_ms.p95, pass: r.upload_ms.p95 < plan.p95LimitMs },
    { name: 'failed', limit: '= 0', actual: r.failed, pass: r.failed === 0 },
  ];
  if (aborted) return { status: 'error', checks, error: 'the run was interrupted before its end' };
  return { status: checks.every((c) => c.pass) ? 'passed' : 'failed', checks };
}

/** One upload of a large generated file (`--large SIZE`): the time and MB/s end to end, and of the sending alone. */
export async function runLargeUpload(apiUrl: string, size: number, log: (line: string) => void = () => undefined, signal?: AbortSignal) {
  const work = mkdtempSync(join(tmpdir(), 'chat4all-large-'));
  try {
    const peer = await signUp(apiUrl, 'fu_peer');
    const u = await uploader(apiUrl, peer.userId, 'fu_large');
    const path = join(work, 'large.bin');
    log(`writing a ${Math.round(size / 1e6)} MB test file …`);
    await writeTestFile(path, size);
    const phase: Record<string, number> = {};
    const began = Date.now();
    const r = await uploadFile({
      api: u.client,
      userId: u.userId,
      stateDir: join(work, 'state'),
      path,
      conversationId: u.conversationId,
      signal,
      log,
      progress: (p) => {
        phase[p] = Date.now();
        return { start() {}, add() {}, finish: () => (phase[`${p}_done`] = Date.now()), interrupt() {} };
      },
    });
    const total = (Date.now() - began) / 1000;
    const sending = ((phase.sending_done ?? Date.now()) - (phase.sending ?? began)) / 1000;
    return {
      file_id: r.file_id,
      size,
      parts: r.part_count,
      seconds: Math.round(total * 10) / 10,
      mb_per_s: Math.round((size / 1e6 / total) * 10) / 10,
      send_seconds: Math.round(sending * 10) / 10,
      send_mb_per_s: Math.round((size / 1e6 / Math.max(0.001, sending)) * 10) / 10,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes `result.json`, `summary.md` and `report.html` (self-contained, like the other scenarios'). */
export function writeFileUploadReport(dir: string, report: FileUploadReport) {
  mkdirSync(dir, { recursive: true });
  const files = { dir, json: join(dir, 'result.json'), markdown: join(dir, 'summary.md'), html: join(dir, 'report.html') };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  const status = { passed: 'PASSED', failed: 'FAILED', error: 'ERROR (no verdict)' }[report.verdict.status];
  const r = report.result;
  const rows: [string, string][] = r
    ? [
        ['uploads started / ready / failed', `${r.started} / ${r.ready} / ${r.failed}`],
        ['upload time p50 / p95 / p99 / max', `${r.upload_ms.p50} / ${r.upload_ms.p95} / ${r.upload_ms.p99} / ${r.upload_ms.max} ms`],
        ['throughput', `${r.uploads_per_s} uploads/s, ${r.mb_per_s} MB/s (${(r.bytes / 1e6).toFixed(1)} MB)`],
        ['errors', Object.entries(r.errors).map(([k, v]) => `${v}× ${k}`).join('; ') || 'none'],
        ['window', `${r.started_at} → ${r.ended_at}`],
      ]
    : [];
  const p = report.plan;
  const what = `${p.users} users uploading ${Math.round(p.minBytes / 1000)} KB–${Math.round(p.maxBytes / 1000)} KB files one after the other for ${p.durationS} s, each timed from its first request to \`ready\``;
  const md = [
    `# Load test \`file-upload\`: ${status}`,
    '',
    `${what}. Target ${report.target.api_url}.`,
    '',
    ...(report.verdict.error ? [`**The run itself failed:** ${report.verdict.error}`, ''] : []),
    '| check | limit | actual | |',
    '| --- | --- | --- | --- |',
    ...report.verdict.checks.map((c) => `| ${c.name} | ${c.limit} | ${c.actual} | ${c.pass ? 'pass' : '**FAIL**'} |`),
    '',
    ...(rows.length ? ['| measure | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`), ''] : []),
  ];
  writeFileSync(files.markdown, `${md.join('\n')}\n`);
  const color = report.verdict.status === 'passed' ? '#1a7f37' : report.verdict.status === 'failed' ? '#cf222e' : '#9a6700';
  const charts = r
    ? [
        lineChart([{ label: 'ready/s', color: '#1a7f37', points: r.timeline.map((t) => ({ x: t.t_s, y: t.ready })) }], { title: 'Uploads ready per second', yUnit: '/s' }),
        lineChart(
          [
            { label: 'upload p95', color: '#cf222e', points: r.timeline.map((t) => ({ x: t.t_s, y: t.p95_ms })) },
            { label: `limit ${p.p95LimitMs} ms`, color: '#8c959f', points: r.timeline.map((t) => ({ x: t.t_s, y: p.p95LimitMs })) },
          ],
          { title: 'Upload time (first request → ready), p95 per second', yUnit: 'ms' },
        ),
      ]
    : [];
  writeFileSync(
    files.html,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Chat4All load test file-upload: ${status}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;max-width:920px}
h1 span{color:${color}}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}svg{display:block;margin:18px 0}.note{color:#59636e}
</style></head><body>
<h1>Load test <code>file-upload</code>: <span>${status}</span></h1>
<p>${esc(what.replace(/`/g, ''))}. Target <code>${esc(report.target.api_url)}</code>.</p>
${report.verdict.error ? `<p class="bad">The run itself failed: ${esc(report.verdict.error)}</p>` : ''}
<h2>Thresholds</h2>
<table><tr><th>check</th><th>limit</th><th>actual</th><th></th></tr>
${report.verdict.checks.map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.limit)}</td><td>${c.actual}</td><td class="${c.pass ? 'ok' : 'bad'}">${c.pass ? 'pass' : 'FAIL'}</td></tr>`).join('\n')}
</table>
${rows.length ? `<h2>Summary</h2><table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('\n')}</table>` : ''}
${charts.length ? '<h2>Over time</h2>' : ''}
${charts.join('\n')}
<p class="note">Generated ${esc(report.generated_at)}${report.git_commit ? ` at commit ${esc(report.git_commit)}` : ''} on ${report.machine.cores} cores (${esc(report.machine.cpu_model)}).
Each upload: sha256 of the file, <code>POST /v1/files</code>, part PUTs to object storage on presigned URLs, each ETag reported, complete, the server's sha256 check.</p>
</body></html>
`,
  );
  return files;
}

/** Builds the report of a run (or of a run that failed before it had results). */
export function fileUploadReport(plan: FileUploadPlan, result: FileUploadResult | null, verdict: Verdict): FileUploadReport {
  const { apiUrl, ...rest } = plan;
  return {
    scenario: 'file-upload',
    description: `${plan.users} users uploading files end to end to ready`,
    plan: rest,
    target: { api_url: apiUrl },
    verdict,
    result,
    machine: machineInfo(),
    git_commit: gitCommit(),
    generated_at: new Date().toISOString(),
  };
}

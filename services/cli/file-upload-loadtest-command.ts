import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileUploadReport, judgeFileUpload, runFileUpload, runLargeUpload, writeFileUploadReport, type FileUploadPlan } from '../../loadtest/file-upload.ts';
import { parseSize } from '../../loadtest/test-file.ts';

export const FILE_UPLOAD_USAGE = `  file-upload  N users uploading files one after the other, end to end to ready (hash, session, parts to object
            storage, complete, the server's sha256 check); thresholds: upload p95 < 2 s, no failure.
            chat4all loadtest file-upload [--users N (10)] [--duration S (30)] [--min SIZE (100KB)] [--max SIZE (1MB)]
              [--p95 MS (2000)] [--target API_URL] [--out DIR]
            chat4all loadtest file-upload --large SIZE [--target API_URL]   one file of SIZE (e.g. 1G): MB/s`;

const FLAGS = ['users', 'duration', 'min', 'max', 'p95', 'target', 'out', 'large'] as const;
type Flag = (typeof FLAGS)[number];

/** `chat4all loadtest file-upload …`; resolves with the exit code (0 passed, 1 a threshold failed, 2 usage, 3 the run failed). */
export async function fileUploadCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const flags: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? args[++i];
    if (!a.startsWith('--') || !(FLAGS as readonly string[]).includes(name) || value === undefined || value.startsWith('--')) {
      err(`chat4all loadtest file-upload: bad argument ${a}\n\n${FILE_UPLOAD_USAGE}`);
      return 2;
    }
    flags[name as Flag] = value;
  }
  let plan: FileUploadPlan;
  let large: number | undefined;
  try {
    const num = (name: Flag, def: number, max: number) => {
      const n = flags[name] === undefined ? def : Number(flags[name]);
      if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}], got "${flags[name]}"`);
      return n;
    };
    const size = (name: Flag, def: number) => (flags[name] === undefined ? def : parseSize(flags[name]!));
    const minBytes = size('min', 100_000);
    const maxBytes = size('max', 1_000_000);
    if (minBytes > maxBytes) throw new Error(`--min (${minBytes} bytes) is above --max (${maxBytes} bytes)`);
    if (flags.large !== undefined) {
      large = parseSize(flags.large);
      if (large < 1 || large > 2 ** 31) throw new Error(`--large must be between 1 byte and 2 GiB, got ${flags.large}`);
    }
    const target = flags.target?.replace(/\/$/, '');
    if (target !== undefined && (!URL.canParse(target) || !/^https?:$/.test(new URL(target).protocol))) throw new Error(`--target must be an http(s) URL, got "${target}"`);
    plan = {
      users: Math.round(num('users', 10, 500)),
      durationS: num('duration', 30, 3600),
      minBytes,
      maxBytes,
      p95LimitMs: num('p95', 2000, 600_000),
      apiUrl: target ?? '',
    };
  } catch (e) {
    err(`chat4all loadtest file-upload: ${(e as Error).message}\n\n${FILE_UPLOAD_USAGE}`);
    return 2;
  }
  try {
    plan.apiUrl ||= runningApi();
  } catch (e) {
    err(`chat4all loadtest file-upload: ${(e as Error).message}`);
    return 3;
  }
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    err('\nstopping (Ctrl-C again to quit at once) …');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    if (large !== undefined) {
      const r = await runLargeUpload(plan.apiUrl, large, err, abort.signal);
      out(`file-upload --large: ${r.file_id} ready, ${(r.size / 1e6).toFixed(1)} MB in ${r.parts} parts`);
      out(`  end to end (hash, send, complete, verify) ${r.seconds} s = ${r.mb_per_s} MB/s; sending the parts ${r.send_seconds} s = ${r.send_mb_per_s} MB/s`);
      return 0;
    }
    let result = null;
    let verdict;
    try {
      result = await runFileUpload(plan, err, abort.signal);
      verdict = judgeFileUpload(result, plan, abort.signal.aborted);
    } catch (e) {
      verdict = { status: 'error' as const, checks: [], error: (e as Error).message };
    }
    const files = writeFileUploadReport(flags.out ?? join('reports', 'loadtest', `file-upload-${new Date().toISOString().replace(/[:.]/g, '-')}`), fileUploadReport(plan, result, verdict));
    out(`\nfile-upload: ${verdict.status.toUpperCase()}${verdict.error ? ` (${verdict.error})` : ''}`);
    for (const c of verdict.checks) out(`  ${c.pass ? 'pass' : 'FAIL'}  ${c.name.padEnd(11)} ${String(c.actual).padStart(10)}  (${c.limit})`);
    if (result) {
      out(`  ${result.users} users: ${result.ready} ready, ${result.failed} failed; upload p50/p95/p99 ${result.upload_ms.p50}/${result.upload_ms.p95}/${result.upload_ms.p99} ms; ${result.uploads_per_s} uploads/s, ${result.mb_per_s} MB/s`);
      for (const [e, n] of Object.entries(result.errors)) out(`  ${n}× ${e}`);
    }
    out(`  reports: ${files.markdown}, ${files.html}, ${files.json}`);
    return verdict.status === 'passed' ? 0 : verdict.status === 'failed' ? 1 : 3;
  } catch (e) {
    err(`chat4all loadtest file-upload: the run failed: ${(e as Error).message}`);
    return 3;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The API of the platform `make up` runs (.data/platform.json). */
function runningApi(): string {
  const file = join(resolve(process.env.DATA_DIR ?? '.data'), 'platform.json');
  let info: { api_url?: string };
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as typeof info;
  } catch {
    throw new Error(`no running platform found (${file} is missing): start it with 'make up', or pass --target`);
  }
  if (!info.api_url) throw new Error(`${file} names no api_url: restart 'make up'`);
  return info.api_url;
}

/**
 * The files proof (issue #15): a file uploaded by the CLI as a child process, interrupted at
 * ~40 % with SIGINT and again at ~70 % with SIGKILL, resumed each time by running the same
 * command: only the parts the API reports missing are sent again, the sha256 matches, and the
 * API process's resident memory grows by less than 64 MB during the upload. The API runs as its
 * own process (`services/api/main.ts`, SQLite, in-memory bus) against a real local S3 (s3rver)
 * behind a loopback proxy that counts the part PUTs on the wire.
 *
 * `make test` runs it with a 64 MiB file (seconds); `make files-proof` with 1 GiB
 * (FILES_PROOF_SIZE=1G) and prints the numbers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../services/cli/file-hash.ts';
import { LOCAL_S3_KEYS, startLocalS3, type LocalS3 } from '../../services/lib/local-s3.ts';
import { parseSize, writeTestFile } from '../../loadtest/test-file.ts';
import { startCountingS3Proxy } from './counting-s3-proxy.ts';

const SIZE = parseSize(process.env.FILES_PROOF_SIZE ?? '64M');
const MiB = 2 ** 20;
const ROOT = join(import.meta.dirname, '..', '..');
const TSX = ['--import', 'tsx'];
// A small file has few parts: 2 at once leaves parts to send after each mark, so each kill lands mid-upload.
const CONCURRENCY = SIZE < 256 * MiB ? 2 : 4;

/** Resident memory of a process, from /proc (Linux), in bytes. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function startApi(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, [...TSX, 'services/api/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) return { child, url: m[1]!, log: () => out };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the API did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function call<T>(url: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe(`files proof: a ${Math.round(SIZE / MiB)} MiB upload by the CLI, interrupted twice, resumed`, { timeout: 15 * 60_000 }, () => {
  let dir: string;
  let s3: LocalS3;
  let proxy: Awaited<ReturnType<typeof startCountingS3Proxy>>;
  let api: Awaited<ReturnType<typeof startApi>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat4all-files-proof-'));
    s3 = await startLocalS3({ directory: join(dir, 's3'), port: 0 });
    proxy = await startCountingS3Proxy(s3.endpoint);
    api = await startApi({
      ...process.env,
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      METRICS_PORT: undefined,
      STORE_DRIVER: 'sqlite',
      SQLITE_PATH: join(dir, 'api.db'),
      BUS_DRIVER: 'memory',
      S3_ENDPOINT: s3.endpoint,
      S3_PUBLIC_ENDPOINT: proxy.url,
      S3_BUCKET: `proof-${randomBytes(4).toString('hex')}`,
      S3_ACCESS_KEY_ID: LOCAL_S3_KEYS.accessKey,
      S3_SECRET_ACCESS_KEY: LOCAL_S3_KEYS.secretKey,
      LOG_LEVEL: 'warn',
    });
  });
  after(async () => {
    api?.child.kill('SIGKILL');
    await proxy?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends only the missing parts after SIGINT and SIGKILL, ends ready with the same sha256, and the API memory stays flat', async () => {
    const password = 'correct horse battery';
    const [alice, bob] = ['alice', 'bob'].map((n) => `${n}_${randomBytes(4).toString('hex')}`);
    const aliceId = (await call<{ user_id: string }>(api.url, 'POST', '/auth/register', { username: alice, password })).user_id;
    const bobId = (await call<{ user_id: string }>(api.url, 'POST', '/auth/register', { username: bob, password })).user_id;
    const token = (await call<{ access_token: string }>(api.url, 'POST', '/auth/token', { username: alice, password })).access_token;
    const conversation = (await call<{ conversation_id: string }>(api.url, 'POST', '/v1/conversations', { type: 'private', members: [bobId] }, token)).conversation_id;
    assert.ok(aliceId);

    const file = join(dir, 'big.bin');
    let t = Date.now();
    await writeTestFile(file, SIZE);
    const localSha = await sha256File(file);
    const prepS = (Date.now() - t) / 1000;
    const config = join(dir, 'config');
    const cliEnv = { ...process.env, XDG_CONFIG_HOME: config, CHAT4ALL_API: api.url, CHAT4ALL_TOKEN: token };

    // One small upload first, so the baseline has the file code paths loaded (minio's client, the
    // routes, the verification): the growth measured is the big upload's, not the first use's.
    // (The small run of `make test` skips it: one process start less, and its growth is small anyway.)
    const coldRss = rssOf(api.child.pid!)!;
    if (SIZE >= 256 * MiB) {
      const warm = join(dir, 'warm.bin');
      await writeTestFile(warm, 9 * MiB);
      const warmRun = spawn(process.execPath, [...TSX, 'services/cli/main.ts', 'upload', warm, '--conversation', conversation, '--json'], { cwd: ROOT, env: cliEnv, stdio: 'ignore' });
      assert.deepEqual(await once(warmRun, 'exit'), [0, null]);
    }
    const storedBefore = proxy.stored();

    // The API's memory, sampled from before the first byte of the big file until it is ready.
    const baseline = rssOf(api.child.pid!)!;
    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: Date.now(), rss: rssOf(api.child.pid!) ?? 0 }), 100);

    const upload = () => {
      const child = spawn(process.execPath, [...TSX, 'services/cli/main.ts', 'upload', file, '--conversation', conversation, '--json', '--concurrency', String(CONCURRENCY)], { cwd: ROOT, env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      return { child, exited, out: () => out, err: () => err };
    };
    /** One run, interrupted with `signal` once `share` of the file is stored (new PUTs held from then, so the kill lands mid-upload). */
    const interruptedRun = async (share: number, signal: NodeJS.Signals) => {
      const from = proxy.puts.length;
      proxy.holdAt(storedBefore + share * SIZE);
      const run = upload();
      const started = Date.now();
      while (proxy.held() === 0 && run.child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      assert.equal(run.child.exitCode, null, `the upload ended before ${share * 100} %: ${run.err()}`);
      const storedAtKill = proxy.stored() - storedBefore;
      run.child.kill(signal);
      const [code, sig] = await run.exited;
      proxy.release();
      return { puts: proxy.puts.slice(from), code, sig, err: run.err(), storedAtKill, seconds: (Date.now() - started) / 1000 };
    };
    const fileIdOf = () => {
      const state = readdirSync(join(config, 'chat4all')).find((f) => f.startsWith('uploads-'))!;
      return (Object.values(JSON.parse(readFileSync(join(config, 'chat4all', state), 'utf8'))) as { file_id: string; path: string }[]).find((e) => e.path === file)!.file_id;
    };
    const session = (id: string) => call<{ part_count: number; part_size: number; missing: number[]; parts: { part_number: number }[]; state: string }>(api.url, 'GET', `/v1/files/${id}`, undefined, token);

    t = Date.now();
    const first = await interruptedRun(0.4, 'SIGINT');
    assert.equal(first.code, 1, first.err);
    assert.match(first.err, /"message":"interrupted".*"hint":"run the same command again to resume"/);
    const fileId = fileIdOf();
    const afterFirst = await session(fileId);
    assert.equal(afterFirst.state, 'uploading');
    assert.ok(afterFirst.missing.length > 0 && afterFirst.missing.length < afterFirst.part_count, `missing after SIGINT: ${afterFirst.missing.length}`);

    const second = await interruptedRun(0.7, 'SIGKILL');
    assert.equal(second.sig, 'SIGKILL');
    const afterSecond = await session(fileId);
    const sentAgain2 = second.puts.map((p) => p.part_number);
    assert.ok(sentAgain2.length > 0);
    for (const n of sentAgain2) assert.ok(afterFirst.missing.includes(n), `run 2 sent part ${n}, recorded before it started`);

    const lastStarted = Date.now();
    const from = proxy.puts.length;
    const third = upload();
    const [code] = await third.exited;
    const lastS = (Date.now() - lastStarted) / 1000;
    const totalS = (Date.now() - t) / 1000;
    clearInterval(sampler);
    assert.equal(code, 0, third.err());
    const result = JSON.parse(third.out()) as { file_id: string; sha256: string; state: string };
    assert.deepEqual(result, { file_id: fileId, sha256: localSha, state: 'ready' });
    const sentAgain3 = proxy.puts.slice(from).map((p) => p.part_number);
    assert.deepEqual([...new Set(sentAgain3)].sort((a, b) => a - b), afterSecond.missing, 'run 3 sent exactly the missing parts');
    assert.equal(sentAgain3.length, afterSecond.missing.length, 'each once');
    const final = await session(fileId);
    assert.equal(final.state, 'ready');

    // Where the peak was: while parts were sent, or after the last one (complete: S3 joins the parts, the API streams the object to check its sha256).
    const lastPart = proxy.lastAnswerAt();
    const peakOf = (f: (at: number) => boolean) => Math.max(baseline, ...samples.filter((x) => f(x.at)).map((x) => x.rss));
    const peak = peakOf(() => true);
    const growth = peak - baseline;
    const numbers = {
      size_mib: Math.round(SIZE / MiB),
      parts: final.part_count,
      part_size_mib: final.part_size / MiB,
      puts: { run1_sigint: first.puts.length, run2_sigkill: second.puts.length, run3: sentAgain3.length, total: proxy.puts.length },
      interrupted_at_pct: [Math.round((first.storedAtKill / SIZE) * 100), Math.round((second.storedAtKill / SIZE) * 100)],
      missing_after: [afterFirst.missing.length, afterSecond.missing.length],
      parts_sent_more_than_once: proxy.puts.length - final.part_count,
      seconds: { prepare_file: Math.round(prepS * 10) / 10, three_runs: Math.round(totalS * 10) / 10, last_run: Math.round(lastS * 10) / 10 },
      // Over the three runs, each with its process start (tsx), the hashing of run 1, the kills and the server's verification.
      mb_per_s_end_to_end: Math.round((SIZE / 1e6 / totalS) * 10) / 10,
      api_rss_mib: {
        at_start: Math.round(coldRss / MiB),
        baseline: Math.round(baseline / MiB),
        peak: Math.round(peak / MiB),
        growth: Math.round((growth / MiB) * 10) / 10,
        growth_from_start: Math.round(((peak - coldRss) / MiB) * 10) / 10,
        peak_while_sending_parts: Math.round(peakOf((at) => at <= lastPart) / MiB),
        peak_completing_and_verifying: Math.round(peakOf((at) => at > lastPart) / MiB),
        samples: samples.length,
      },
      sha256: localSha,
    };
    console.log(`files proof: ${JSON.stringify(numbers, null, 2)}`);
    assert.ok(growth < 64 * MiB, `the API's RSS grew by ${(growth / MiB).toFixed(1)} MiB during the upload`);
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const FIELDS = ['accepted_per_s', 'delivered_per_s', 'http_limit_per_s', 'bus_limit_per_s', 'e2e_p50_ms', 'e2e_p99_ms', 'offered_rate'] as const;

test('the smoke bench starts the platform, measures every part, writes every field and the HTML report', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-bench-'));
  const out = join(dir, 'latest.json');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    // Bounded: a hung bench is stopped by its PID (it stops the platform it started).
    const timer = setTimeout(() => process.kill(child.pid!, 'SIGTERM'), 100_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.match(output, /of bare HTTP/);
    assert.match(output, /vs raw bus/);
    assert.match(output, /CPU ms per delivered message/);

    const r = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    for (const f of FIELDS) assert.ok(typeof r[f] === 'number' && (r[f] as number) > 0, `${f} is a positive number: ${String(r[f])}`);
    // Counted, not judged: the smoke run checks the bench works, not how fast this machine is.
    for (const f of ['lost', 'duplicates', 'out_of_order']) assert.ok(typeof r[f] === 'number' && (r[f] as number) >= 0, f);
    assert.equal(typeof r.git_commit, 'string');
    const machine = r.machine as { cores: number; memory_gb: number };
    assert.ok(machine.cores > 0 && machine.memory_gb > 0);
    assert.ok((r.steps as unknown[]).length > 0);
    assert.ok((r.long_runs as unknown[]).length > 0, 'the long (sustained) runs ran');
    const cpu = r.cpu_ms_per_message as { platform: number; simulator: number; generator: number };
    for (const k of ['platform', 'simulator', 'generator'] as const) assert.ok(cpu[k] > 0, `CPU ms per message of the ${k}`);
    assert.ok(((r.api_saturation as { accepted_per_s: number }).accepted_per_s) > 0, 'the API at saturation accepted something');
    const html = readFileSync(out.replace(/\.json$/, '.html'), 'utf8');
    assert.match(html, /<svg[^>]*aria-label="rate \(msg\/s\) by offered rate/, 'the report charts offered vs delivered');
    assert.match(html, /accept → DELIVERED stored/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

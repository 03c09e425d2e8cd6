import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform } from '../test/support/embedded.ts';
import { loadtestCommand } from '../services/cli/loadtest-command.ts';
import type { LoadReport } from './report.ts';

describe('chat4all loadtest against the embedded platform', () => {
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let out: string;

  before(async () => {
    platform = await startTestPlatform();
    out = mkdtempSync(join(tmpdir(), 'chat4all-loadtest-'));
  });
  after(async () => {
    await platform.stop();
    rmSync(out, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const lines: string[] = [];
    const code = await loadtestCommand(args, (s) => lines.push(s));
    return { code, text: lines.join('\n') };
  };

  test('a healthy short run passes (exit 0)', async () => {
    const dir = join(out, 'ok');
    const { code, text } = await run(['warmup', '--rate', '8', '--duration', '2', '--conversations', '2', '--deadline', '10',
      '--target', platform.apiUrl, '--sim', platform.simUrl!, '--out', dir]);
    // Latency bounds depend on how busy the machine is (tests must not time things): a run may
    // fail only on them; everything about the messages themselves must pass.
    const failed = text.split('\n').filter((l) => /^\s*FAIL\s/.test(l));
    assert.ok(failed.every((l) => /\b(http p95|http p99|e2e p99)\b/.test(l)), text);
    assert.equal(code, failed.length === 0 ? 0 : 1, text);
    assert.match(text, /lost 0, duplicates 0, out of order 0/, text);
    assert.ok(existsSync(join(dir, 'report.html')));
  });

  test('a simulator that does not answer is a failed run (exit 3), never a pass', async () => {
    const dir = join(out, 'nosim');
    const { code } = await run(['warmup', '--rate', '5', '--duration', '1', '--conversations', '1',
      '--target', platform.apiUrl, '--sim', 'http://127.0.0.1:1', '--out', dir]);
    assert.equal(code, 3);
    const report = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as LoadReport;
    assert.equal(report.verdict.status, 'error');
    assert.match(report.verdict.error!, /simulator/);
  });

  test('an unknown scenario or a bad flag is a usage error (exit 2) naming the problem', async () => {
    const unknown = await run(['no-such-load']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.text, /unknown scenario "no-such-load".*warmup, baseline, spike, soak/);
    assert.equal((await run(['baseline', '--rate', 'fast'])).code, 2);
    assert.match((await run(['baseline', '--users', '3'])).text, /unknown flag --users/);
    assert.match((await run(['baseline', '--duration'])).text, /--duration needs a value/);
    assert.match((await run(['baseline', '--target', 'ftp://x'])).text, /http\(s\) URL/);
    assert.equal((await run([])).code, 2);
  });

  // Last: the connector keeps retrying these messages after the fault is lifted.
  test('a run whose messages never reach the provider counts them lost and fails (exit 1), with its reports', async () => {
    const down = await fetch(`${platform.simUrl}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'whatsapp', down: true }),
    });
    assert.equal(down.status, 200);
    const dir = join(out, 'lost');
    try {
      const { code, text } = await run(['warmup', '--rate', '10', '--duration', '2', '--conversations', '3', '--deadline', '2',
        '--target', platform.apiUrl, '--sim', platform.simUrl!, '--out', dir]);
      assert.equal(code, 1, text);
      assert.match(text, /FAIL\s+lost/);
    } finally {
      await fetch(`${platform.simUrl}/_sim/faults`, { method: 'DELETE' });
    }
    const report = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as LoadReport;
    assert.equal(report.verdict.status, 'failed');
    assert.ok(report.result!.accepted > 0);
    assert.equal(report.result!.lost, report.result!.accepted, 'the provider was down the whole run');
    assert.equal(report.verdict.checks.find((c) => c.name === 'lost')?.pass, false);
    assert.ok(report.result!.timeline.length > 0);
    assert.match(readFileSync(join(dir, 'summary.md'), 'utf8'), /FAILED/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script|<link|src=/, 'self-contained: no scripts, nothing fetched');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../services/core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../services/core/ports/stores.ts';
import { startLocalS3, type LocalS3 } from '../services/lib/local-s3.ts';
import { startTestApi, type TestApi } from '../services/api/test-api.ts';
import { loadtestCommand } from '../services/cli/loadtest-command.ts';

// `loadtest file-upload` end to end, small: the real API and a local S3, 2 users for 2 s, and a
// --large run; what the brief's profile runs at full size.
describe('loadtest file-upload against the API and a local S3', () => {
  let dir: string;
  let s3: LocalS3;
  let stores: Stores;
  let api: TestApi;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat4all-fu-run-'));
    s3 = await startLocalS3({ directory: join(dir, 's3'), port: 0 });
    stores = openSqliteStores(join(dir, 'api.db'));
    api = await startTestApi({ s3Endpoint: s3.endpoint, s3Bucket: `lt-${randomBytes(4).toString('hex')}` }, { stores });
    await api.objects.ensureBucket();
  });
  after(async () => {
    await api?.close();
    await stores?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads files to ready with every user, judges p95 and writes the reports', async () => {
    const out: string[] = [];
    const reportDir = join(dir, 'report');
    const code = await loadtestCommand(['file-upload', '--target', api.url, '--users', '2', '--duration', '2', '--min', '10K', '--max', '200K', '--p95', '10000', '--out', reportDir], (s) => out.push(s), () => undefined);
    const result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8'));
    assert.equal(code, 0, out.join('\n'));
    assert.ok(result.result.ready >= 2, `ready: ${result.result.ready}`);
    assert.equal(result.result.failed, 0);
    assert.equal(result.verdict.status, 'passed');
    assert.ok(result.result.upload_ms.p95 > 0);
    assert.ok(existsSync(join(reportDir, 'report.html')));
    assert.match(out.join('\n'), /file-upload: PASSED\n {2}pass {2}ready/);
  });

  it('--large prints MB/s for one big file', async () => {
    const out: string[] = [];
    const code = await loadtestCommand(['file-upload', '--target', api.url, '--large', '17M'], (s) => out.push(s), () => undefined);
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /file-upload --large: fil_\w+ ready, 17\.8 MB in 3 parts\n {2}end to end .* = [\d.]+ MB\/s; sending the parts [\d.]+ s = [\d.]+ MB\/s/);
  });

  it('refuses bad usage with exit 2', async () => {
    const err: string[] = [];
    assert.equal(await loadtestCommand(['file-upload', '--users', 'x', '--target', api.url], () => undefined, (s) => err.push(s)), 2);
    assert.match(err.join('\n'), /--users must be a number/);
    assert.equal(await loadtestCommand(['file-upload', '--min', '2M', '--max', '1M', '--target', api.url], () => undefined, (s) => err.push(s)), 2);
    assert.equal(await loadtestCommand(['file-upload', '--large', '3G', '--target', api.url], () => undefined, (s) => err.push(s)), 2);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileUploadReport, judgeFileUpload, writeFileUploadReport, type FileUploadResult } from './file-upload.ts';
import { parseSize, writeTestFile } from './test-file.ts';

const result = (over: Partial<FileUploadResult> = {}): FileUploadResult => ({
  users: 10,
  started: 40,
  ready: 40,
  failed: 0,
  errors: {},
  bytes: 22e6,
  upload_ms: { p50: 300, p95: 900, p99: 1200, max: 1500 },
  mb_per_s: 0.7,
  uploads_per_s: 1.3,
  timeline: [{ t_s: 0, ready: 2, p95_ms: 800 }, { t_s: 1, ready: 3, p95_ms: 900 }],
  started_at: '2026-12-03T10:00:00.000Z',
  ended_at: '2026-12-03T10:00:30.000Z',
  ...over,
});

describe('loadtest file-upload', () => {
  it('reads sizes as people write them', () => {
    assert.equal(parseSize('100KB'), 102_400);
    assert.equal(parseSize('1G'), 2 ** 30);
    assert.equal(parseSize('1.5M'), 1.5 * 2 ** 20);
    assert.equal(parseSize('2GiB'), 2 ** 31);
    assert.equal(parseSize('12345'), 12345);
    assert.throws(() => parseSize('lots'), /not a size/);
  });

  it('generates test files whose blocks all differ', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-testfile-'));
    try {
      const path = join(dir, 'f.bin');
      await writeTestFile(path, 3 * 2 ** 20 + 5);
      assert.equal(statSync(path).size, 3 * 2 ** 20 + 5);
      const data = readFileSync(path);
      const blocks = [0, 1, 2].map((i) => createHash('sha256').update(data.subarray(i * 2 ** 20, (i + 1) * 2 ** 20)).digest('hex'));
      assert.equal(new Set(blocks).size, 3, 'a part sent in the wrong place would change the sha256');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes only with uploads ready, p95 under the bound and nothing failed', () => {
    assert.equal(judgeFileUpload(result(), { p95LimitMs: 2000 }).status, 'passed');
    const slow = judgeFileUpload(result({ upload_ms: { p50: 900, p95: 2400, p99: 3000, max: 3100 } }), { p95LimitMs: 2000 });
    assert.equal(slow.status, 'failed');
    assert.deepEqual(slow.checks.filter((c) => !c.pass).map((c) => c.name), ['upload p95']);
    assert.equal(judgeFileUpload(result({ ready: 0, upload_ms: { p50: 0, p95: 0, p99: 0, max: 0 } }), { p95LimitMs: 2000 }).status, 'failed');
    assert.equal(judgeFileUpload(result({ failed: 1 }), { p95LimitMs: 2000 }).status, 'failed');
    assert.equal(judgeFileUpload(result(), { p95LimitMs: 2000 }, true).status, 'error');
  });

  it('writes the JSON, Markdown and self-contained HTML reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat4all-fu-report-'));
    try {
      const plan = { users: 10, durationS: 30, minBytes: 100_000, maxBytes: 1_000_000, p95LimitMs: 2000, apiUrl: 'http://127.0.0.1:1' };
      const r = result({ upload_ms: { p50: 900, p95: 2400, p99: 3000, max: 3100 } });
      const files = writeFileUploadReport(dir, fileUploadReport(plan, r, judgeFileUpload(r, plan)));
      const html = readFileSync(files.html, 'utf8');
      assert.match(html, /file-upload<\/code>: <span>FAILED/);
      assert.match(html, /<td>upload p95<\/td><td>&lt; 2000 ms<\/td><td>2400<\/td><td class="bad">FAIL/);
      assert.match(html, /<svg/);
      assert.doesNotMatch(html, /<script/);
      assert.match(readFileSync(files.markdown, 'utf8'), /\| upload time p50 \/ p95 \/ p99 \/ max \| 900 \/ 2400 \/ 3000 \/ 3100 ms \|/);
      assert.equal(JSON.parse(readFileSync(files.json, 'utf8')).result.ready, 40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

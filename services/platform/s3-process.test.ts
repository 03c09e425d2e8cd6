import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { S3ObjectStore } from '../core/adapters/s3/s3-object-store.ts';
import { freePort } from './free-port.ts';

// The local platform's `s3` process on its own: what the supervisor starts, health-checks and stops.
describe('the local S3 process (s3-main)', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('serves S3 with its bucket made, answers /healthz and /metrics, keeps data in S3_DIR and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chat4all-s3proc-'));
    dirs.push(dir);
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/platform/s3-main.ts'], {
      env: { PATH: process.env.PATH, S3_PORT: String(port), S3_DIR: join(dir, 's3'), S3_BUCKET: 'bucket-a', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const url = `http://127.0.0.1:${port}`;
      let healthy = false;
      for (let i = 0; i < 150 && !healthy; i++) {
        healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(healthy, 'the supervisor sees it healthy');
      assert.match(await (await fetch(`${url}/metrics`)).text(), /^process_resident_memory_bytes\{service="s3"\} \d+/m);
      const store = new S3ObjectStore({ endpoint: url, bucket: 'bucket-a', region: 'us-east-1', accessKey: 'S3RVER', secretKey: 'S3RVER' });
      await store.ensureBucket();
      const id = await store.createMultipartUpload('k', 'text/plain');
      await store.abortMultipartUpload('k', id);
      assert.deepEqual(await readdir(join(dir, 's3')), ['bucket-a'], 'the bucket is a folder of S3_DIR');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    assert.equal(code, 0);
  });
});

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { FakeKubeApi } from '../operator/testing/fake-kube-api.ts';
import { REPO_ROOT, byKind, synth } from './testing/render.ts';
import { ENTRYPOINTS } from './workloads.ts';

/*
 * No Docker engine here: instead this builds the very JavaScript the Dockerfile builds
 * (`tsc -p tsconfig.build.json`) and starts the API with the image's command, `node <entry>`.
 * The output goes to .build/image/dist so that node_modules resolves as in the image (/app).
 */
const IMAGE_ROOT = join(REPO_ROOT, '.build', 'image');
/** The web client's static files, copied into the image beside the compiled JavaScript. */
const WEB_ASSETS = 'services/api/web-client/assets';
const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('the image start commands', () => {
  before(async () => {
    rmSync(join(IMAGE_ROOT, 'dist'), { recursive: true, force: true });
    await run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(IMAGE_ROOT, 'dist')], { cwd: REPO_ROOT });
    // The Dockerfile's second build step: the web client's static files next to its compiled routes.
    cpSync(join(REPO_ROOT, WEB_ASSETS), join(IMAGE_ROOT, 'dist', WEB_ASSETS), { recursive: true });
  });

  test('the Dockerfile compiles with tsconfig.build.json, drops dev dependencies and runs as non-root', () => {
    const df = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(df, /RUN npx tsc -p tsconfig\.build\.json/);
    assert.match(df, /cp -r services\/api\/web-client\/assets dist\/services\/api\/web-client\//, 'the web client assets go into the image');
    assert.match(df, /npm prune --omit=dev/);
    assert.match(df, /^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    assert.match(df, /ARG NODE_IMAGE=node:20-[a-z]+-slim/);
    assert.match(df, /^USER 10001:10001$/m);
    assert.match(df, /^WORKDIR \/app$/m);
    assert.match(df, /^CMD \["node", "dist\/services\/api\/main\.js"\]$/m);
  });

  test('every service entry point the chart runs exists after the build, the operator included', () => {
    for (const entry of Object.values(ENTRYPOINTS)) assert.ok(existsSync(join(IMAGE_ROOT, entry)), `${entry} was not built`);
    const objs = synth({ providerSim: { enabled: true } }, z.object({}));
    const commands = [...byKind(objs, 'Deployment'), ...byKind(objs, 'Job')].map((d) => (d.spec as { template: { spec: { containers: { command: string[] }[] } } }).template.spec.containers[0]!.command);
    assert.ok(commands.some((c) => c[1] === ENTRYPOINTS['cassandra-schema']), 'the schema Job is among them');
    for (const c of commands) assert.ok(Object.values(ENTRYPOINTS).includes(c[1] as never) && c[0] === 'node' && c.length === 2, JSON.stringify(c));
  });

  test('`node dist/services/core/cassandra-schema-main.js` exits 2 on bad settings and 1, naming the cluster, when Cassandra is unreachable', async () => {
    const start = async (env: Record<string, string>) => {
      const run = runEntrypoint(ENTRYPOINTS['cassandra-schema'], env);
      const code = await run.exited;
      return { code, output: run.output() };
    };
    const noNodes = await start({ STORE_DRIVER: 'cassandra' });
    assert.equal(noNodes.code, 2, noNodes.output);
    assert.match(noNodes.output, /CASSANDRA_CONTACT_POINTS/);
    const sqlite = await start({ STORE_DRIVER: 'sqlite' });
    assert.equal(sqlite.code, 2, sqlite.output);
    assert.match(sqlite.output, /set STORE_DRIVER=cassandra/);
    // A port nothing listens on: refused at once.
    const port = await freePort();
    const down = await start({ STORE_DRIVER: 'cassandra', CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}`, CASSANDRA_CONNECT_TIMEOUT_MS: '2000', CHAT4ALL_PROFILE: 'production' });
    assert.equal(down.code, 1, down.output);
    assert.match(down.output, new RegExp(`could not set up the Cassandra schema: could not connect to Cassandra at CASSANDRA_CONTACT_POINTS=127.0.0.1:${port}`));
  });

  test('`node dist/services/api/main.js` serves /healthz', async () => {
    const port = await freePort();
    const { child, exited, output } = runEntrypoint(ENTRYPOINTS.api, { API_HOST: '127.0.0.1', API_PORT: String(port), STORE_DRIVER: 'memory', BUS_DRIVER: 'memory', LOG_LEVEL: 'warn' });
    try {
      const deadline = Date.now() + 15_000;
      let body: unknown = null;
      while (Date.now() < deadline && body === null) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
          if (res.ok) body = await res.json();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.deepEqual(body, { status: 'ok' }, output());
    } finally {
      process.kill(child.pid!, 'SIGTERM');
    }
    assert.equal(await exited, 0, `graceful stop on SIGTERM exits 0\n${output()}`);
  });

  test('the Dockerfile copies every source folder the build compiles (the operator needs loadtest/)', () => {
    const df = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const copied = [...df.matchAll(/^COPY (\S+) \.\/\S+$/gm)].map((m) => m[1]!);
    for (const dir of readdirSync(join(IMAGE_ROOT, 'dist'))) assert.ok(copied.includes(dir), `dist/${dir} is compiled from ${dir}/, which the Dockerfile does not COPY (${copied.join(', ')})`);
  });

  test('`node dist/operator/main.js` serves /healthz, takes the Lease of a (fake) API server and stops on SIGTERM', async () => {
    const kube = await FakeKubeApi.start('chat4all');
    const dir = mkdtempSync(join(tmpdir(), 'operator-image-'));
    writeFileSync(join(dir, 'kubeconfig.json'), kube.kubeconfig());
    const { child, exited, output } = runEntrypoint(ENTRYPOINTS.operator, {
      KUBECONFIG: join(dir, 'kubeconfig.json'),
      WATCH_NAMESPACE: 'chat4all',
      OPERATOR_HOST: '127.0.0.1',
      OPERATOR_PORT: '0',
      OPERATOR_IDENTITY: 'image-test',
      CHAT4ALL_INSTANCE: 'chat4all',
      DATA_DIR: dir,
      LEASE_DURATION_SECONDS: '2',
      LEASE_RETRY_MS: '200',
    });
    try {
      const url = await kube.until('the operator logs its URL', () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output())?.[1], 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${output()}`);
      });
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
      await kube.until('image-test holds the Lease', () => (kube.leases.get('chat4all-operator')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === 'image-test');
    } finally {
      process.kill(child.pid!, 'SIGTERM');
      const code = await exited;
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, `graceful stop on SIGTERM exits 0\n${output()}`);
    }
  });

  after(() => rmSync(join(IMAGE_ROOT, 'dist'), { recursive: true, force: true }));
});

/** Runs a compiled entry point as the image would (its folder as /app, only PATH and `env`), collecting its output. */
function runEntrypoint(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry], { cwd: IMAGE_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => output };
}

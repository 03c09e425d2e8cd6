import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { platformCommand } from '../cli/platform-command.ts';
import { closeServer, listen } from '../core/listen.ts';
import { controlRoutes, createControlApp } from './control-server.ts';
import { readPlatformState, writePlatformState } from './platform-state.ts';

describe('the local control server (make up, :8079)', () => {
  const token = 'test-token-0123456789abcdef';
  let downs = 0;
  const supervisor = {
    ps: () => [],
    apiUrl: 'http://127.0.0.1:1',
    simUrl: 'http://127.0.0.1:2',
    bootstrap: ['127.0.0.1:3'],
    kill: async () => { throw new Error('not in this test'); },
    startProcess: async () => { throw new Error('not in this test'); },
    scale: async () => [],
    brokerFault: async () => undefined,
  };
  const page = express.Router().get('/', (_req, res) => void res.type('html').send('<h1>live</h1>'));
  let server: Awaited<ReturnType<typeof listen>>;
  let dataDir: string;
  before(async () => {
    server = await listen(createControlApp({ token, routes: page, control: controlRoutes(supervisor as never, () => downs++) }), '127.0.0.1', 0);
    dataDir = mkdtempSync(join(tmpdir(), 'chat4all-platform-'));
  });
  after(async () => {
    await closeServer(server.server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A raw request, so that Host and the browser's headers are exactly what the test says. */
  function send(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
      r.end();
    });
  }
  const host = () => `127.0.0.1:${server.port}`;
  const bearer = { authorization: `Bearer ${token}` };

  it('requires the token for the control API', async () => {
    assert.equal((await send('GET', '/control/processes', { host: host() })).status, 401);
    assert.equal((await send('GET', '/control/processes', { host: host(), authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await send('POST', '/control/down', { host: host() })).status, 401);
    assert.equal(downs, 0, 'nothing was stopped');
    const ok = await send('GET', '/control/processes', { host: host(), ...bearer });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).api_url, 'http://127.0.0.1:1');
  });

  it('refuses cross-site requests and foreign Host names (DNS rebinding), token or not', async () => {
    for (const headers of [
      { host: host(), origin: 'https://evil.example', ...bearer },
      { host: host(), 'sec-fetch-site': 'cross-site', ...bearer },
      { host: host(), 'sec-fetch-site': 'same-site', ...bearer },
      { host: `rebind.evil.example:${server.port}`, ...bearer },
    ]) {
      const res = await send('POST', '/control/down', headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /"status":403/);
    }
    assert.equal((await send('GET', '/', { host: `rebind.evil.example:${server.port}` })).status, 403, 'the live view too');
    assert.equal(downs, 0);
    // The live view's own page: same origin.
    assert.equal((await send('GET', '/', { host: host(), 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal((await send('GET', '/', { host: `localhost:${server.port}`, 'sec-fetch-site': 'none' })).status, 200);
  });

  it('writes the token to an owner-only state file, which the CLI reads', async () => {
    writePlatformState(dataDir, { control_url: `${server.url}/control`, control_token: token, pid: process.pid, api_url: supervisor.apiUrl });
    assert.equal(statSync(join(dataDir, 'platform.json')).mode & 0o777, 0o600);
    assert.equal(readPlatformState(dataDir).control_token, token);
    const saved = { DATA_DIR: process.env.DATA_DIR, CHAT4ALL_CONTROL: process.env.CHAT4ALL_CONTROL };
    process.env.DATA_DIR = dataDir;
    delete process.env.CHAT4ALL_CONTROL;
    try {
      const lines: string[] = [];
      assert.equal(await platformCommand(['ps'], (s) => lines.push(s)), 0);
      assert.equal(await platformCommand(['down'], (s) => lines.push(s)), 0);
      assert.equal(downs, 1, 'the CLI stopped it with the token from the file');
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
});

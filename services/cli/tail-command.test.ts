import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { runCli } from './run-cli.ts';
import { EXIT } from './cli-error.ts';
import { cursorsFile } from './config-dir.ts';

const USER = 'u-1111';
const CONV = 'c-2222';
/** A JWT-shaped token: the CLI reads `sub` from it; the fake gateway checks the header carries it. */
const TOKEN = `x.${Buffer.from(JSON.stringify({ sub: USER, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')}.y`;

const created = (seq: number) => ({
  v: 1,
  type: 'message.created',
  conversation_id: CONV,
  message_id: `m-${seq}`,
  seq,
  sender_id: 'u-other',
  payload: { type: 'text', text: `hello ${seq}` },
  created_at: new Date().toISOString(),
  delivery_id: `d-${seq}`,
});

/**
 * A stand-in for the push gateway speaking the protocol of docs/realtime.md, scripted per
 * connection: the real one is tested with this CLI in test/e2e/realtime-clients.test.ts.
 */
function fakeGateway(script: (ws: WebSocket, n: number, frames: Record<string, unknown>[]) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/stream' });
  const connections: { auth: string | undefined; frames: Record<string, unknown>[]; closed: Promise<unknown> }[] = [];
  wss.on('connection', (ws, req) => {
    const frames: Record<string, unknown>[] = [];
    connections.push({ auth: req.headers.authorization, frames, closed: once(ws, 'close') });
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ v: 1, type: 'ready', user_id: USER, connection_id: `conn-${connections.length}` }));
    script(ws, connections.length, frames);
  });
  return { wss, connections, url: () => `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream` };
}

const untilResume = (frames: Record<string, unknown>[]) =>
  new Promise<Record<string, number>>((resolve) => {
    const t = setInterval(() => {
      const r = frames.find((f) => f.type === 'resume');
      if (r) {
        clearInterval(t);
        resolve(r.cursors as Record<string, number>);
      }
    }, 5);
  });

describe('chat4all tail against a gateway', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'chat4all-tail-'));
    env = { XDG_CONFIG_HOME: home, CHAT4ALL_TOKEN: TOKEN };
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  async function tail(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['tail', ...argv], { env, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => '' });
    return { code, out, err };
  }

  it('resumes from its cursors, reconnects after a slow-client close, and prints each message once, in order', async () => {
    const gw = fakeGateway(async (ws, n, frames) => {
      const cursors = await untilResume(frames);
      const from = (cursors[CONV] ?? 0) + 1;
      if (n === 1) {
        // Two messages, then the gateway drops a slow client.
        ws.send(JSON.stringify(created(1)));
        ws.send(JSON.stringify(created(2)));
        setTimeout(() => ws.close(4429, 'too slow'), 30);
      } else {
        // The replay from the cursor overlaps what the client has (seq 2) and goes on live.
        for (let seq = Math.max(1, from - 1); seq <= 4; seq++) ws.send(JSON.stringify(created(seq)));
        ws.send(JSON.stringify({ v: 1, type: 'resumed', conversations: { [CONV]: { seq: 4, recovered: true } } }));
      }
    });
    await once(gw.wss, 'listening');
    const r = await tail('--gateway', gw.url(), '--count', '4', '--timeout', '15', '--json');
    await Promise.all(gw.connections.map((c) => c.closed));
    gw.wss.close();
    assert.equal(r.code, EXIT.ok, r.err.join('\n'));
    const seqs = r.out.map((l) => JSON.parse(l)).filter((f) => f.type === 'message.created').map((f) => f.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4], 'no gap, no duplicate across the reconnect');
    assert.equal(gw.connections.length, 2);
    assert.equal(gw.connections[0]!.auth, `Bearer ${TOKEN}`, 'the token goes in the upgrade header, not the URL');
    assert.deepEqual(gw.connections[1]!.frames.find((f) => f.type === 'resume'), { type: 'resume', cursors: { [CONV]: 2 } });
    const acks = gw.connections.flatMap((c) => c.frames.filter((f) => f.type === 'ack').map((f) => f.message_id));
    assert.deepEqual(acks, ['m-1', 'm-2', 'm-3', 'm-4'], 'each message acknowledged once');
    assert.match(r.err.join('\n'), /disconnected \(4429: too slow\); reconnecting/);
    // The cursor outlives the process, in a private file.
    const file = cursorsFile(home + '/chat4all', USER);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { [CONV]: 4 });
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('the next run resumes where the last one stopped', async () => {
    const gw = fakeGateway(async (ws, _n, frames) => {
      const cursors = await untilResume(frames);
      ws.send(JSON.stringify(created((cursors[CONV] ?? 0) + 1)));
    });
    await once(gw.wss, 'listening');
    const r = await tail('--gateway', gw.url(), '--count', '1', '--timeout', '10');
    gw.wss.close();
    assert.equal(r.code, EXIT.ok, r.err.join('\n'));
    assert.match(r.out.join('\n'), /\[c-2222\] #5 u-other: hello 5/);
  });

  it('a refused token (4401) ends with exit 3 instead of reconnecting forever', async () => {
    const gw = fakeGateway((ws) => ws.close(4401, 'token expired'));
    await once(gw.wss, 'listening');
    const r = await tail('--gateway', gw.url(), '--timeout', '10');
    gw.wss.close();
    assert.equal(r.code, EXIT.auth);
    assert.match(r.err.join('\n'), /the gateway refused the token: token expired/);
    assert.equal(gw.connections.length, 1);
  });

  it('an unreachable gateway keeps retrying until --timeout, and --count not reached exits 1', async () => {
    const r = await tail('--gateway', 'ws://127.0.0.1:9/v1/stream', '--count', '1', '--timeout', '1');
    assert.equal(r.code, EXIT.error);
    assert.match(r.err.join('\n'), /reconnecting in/);
    assert.match(r.err.join('\n'), /timed out after 0 of 1 messages/);
  });
});

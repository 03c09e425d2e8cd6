import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateways } from '../../test/support/gateway-harness.ts';
import { runCli } from './run-cli.ts';
import { EXIT } from './cli-error.ts';

type Harness = Awaited<ReturnType<typeof startTestGateways>>;

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('chat4all tail against the real push gateway', () => {
  let h: Harness;
  let home: string;
  before(async () => {
    h = await startTestGateways();
    home = mkdtempSync(join(tmpdir(), 'chat4all-tail-gw-'));
  });
  after(async () => {
    await h.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** Starts `chat4all tail` as `token`'s user; resolves `connected` once the stream is ready. */
  function tail(token: string, ...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    let connected!: () => void;
    const ready = new Promise<void>((r) => (connected = r));
    const env = { XDG_CONFIG_HOME: home, CHAT4ALL_TOKEN: token, CHAT4ALL_API: h.api.url };
    const done = runCli(['tail', '--gateway', h.gateway.url, '--json', ...argv], {
      env,
      stdout: (s) => out.push(s),
      stderr: (s) => {
        err.push(s);
        if (s === 'tail: connected') connected();
      },
      readStdin: async () => '',
    });
    return { out, err, ready, done, frames: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
  }

  it('prints live messages, acknowledges them (DELIVERED), and the next run catches up on what it missed, in order', async () => {
    const alice = await h.api.user('alice');
    const bob = await h.api.user('bob');
    const conv = await h.conversation(alice, [bob]);

    const first = tail(bob.token, '--count', '2', '--timeout', '15');
    await first.ready;
    const m1 = await h.send(alice, conv, 'one');
    await h.send(alice, conv, 'two');
    assert.equal(await first.done, EXIT.ok, first.err.join('\n'));
    const live = first.frames().filter((f) => f.type === 'message.created');
    assert.deepEqual(live.map((f) => [f.seq, (f.payload as { text: string }).text]), [[1, 'one'], [2, 'two']]);
    assert.ok(live[0]!.delivery_id, 'bob is a recipient');
    // tail's ack made Bob's in-app delivery DELIVERED.
    await waitFor(async () => {
      const m = await h.api.request('GET', `/v1/messages/${m1}`, { token: alice.token });
      return m.body.deliveries.some((d: { recipient_id: string; status: string }) => d.recipient_id === bob.user_id && d.status === 'DELIVERED');
    }, 'the ack to make the delivery DELIVERED');

    // Bob is offline: three messages wait.
    for (const text of ['three', 'four', 'five']) await h.send(alice, conv, text);
    const second = tail(bob.token, '--count', '3', '--timeout', '15');
    assert.equal(await second.done, EXIT.ok, second.err.join('\n'));
    const caughtUp = second.frames().filter((f) => f.type === 'message.created');
    assert.deepEqual(caughtUp.map((f) => [f.seq, (f.payload as { text: string }).text]), [[3, 'three'], [4, 'four'], [5, 'five']]);
  });

  it('status is healthy (exit 0) when the API is ready and a stream reaches ready', async () => {
    const u = await h.api.user('status');
    const out: string[] = [];
    const code = await runCli(['status', '--gateway', h.gateway.url, '--json'], {
      env: { XDG_CONFIG_HOME: home, CHAT4ALL_TOKEN: u.token, CHAT4ALL_API: h.api.url },
      stdout: (s) => out.push(s),
      stderr: () => undefined,
      readStdin: async () => '',
    });
    const s = JSON.parse(out.join(''));
    assert.equal(code, EXIT.ok, JSON.stringify(s));
    assert.equal(s.healthy, true);
    assert.match(s.gateway.detail, /^ready; stream ready in \d+ ms$/);
  });

  it('a token the gateway refuses exits 3', async () => {
    const r = tail('not.a.jwt', '--timeout', '10');
    assert.equal(await r.done, EXIT.auth);
    assert.match(r.err.join('\n'), /refused the token/);
  });
});

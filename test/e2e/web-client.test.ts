import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { ApiClient, eventually } from '../support/api-client.ts';
import { startLocalPlatform } from '../support/local-platform.ts';

// Headless Chromium from Debian, never a downloaded browser (docs/web-client.md).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** One person in a browser context of their own, with a switch that cuts their stream to the gateway. */
class Person {
  page!: Page;
  private offline = false;
  private routes: { page: WebSocketRoute; server: WebSocketRoute }[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly username: string,
    readonly userId: string,
  ) {}

  async open(appUrl: string, password: string) {
    this.page = await this.context.newPage();
    // Every stream goes through this route: while "offline", the connection is cut and reconnects are refused.
    await this.page.routeWebSocket(/\/v1\/stream$/, (ws) => {
      if (this.offline) return void ws.close({ code: 4000, reason: 'offline (test)' });
      this.routes.push({ page: ws, server: ws.connectToServer() });
    });
    await this.page.goto(appUrl);
    await this.page.fill('#login-form input[name=username]', this.username);
    await this.page.fill('#login-form input[name=password]', password);
    await this.page.click('#login-form button[type=submit]');
    await this.page.waitForSelector('#connection[data-state=online]');
  }

  setOffline(offline: boolean) {
    this.offline = offline;
    // Both ends drop, as when the network goes: the page reconnects (refused while offline), the gateway sees Bob leave.
    if (offline) {
      for (const r of this.routes.splice(0)) {
        void r.server.close({ code: 1000, reason: 'offline (test)' });
        void r.page.close({ code: 4000, reason: 'offline (test)' });
      }
    }
  }

  texts() {
    return this.page.$$eval('#messages li .text', (els) => els.map((e) => e.textContent));
  }

  /** The tick of each of my messages, by text. */
  ticks() {
    return this.page.$$eval('#messages li.mine', (els) => Object.fromEntries(els.map((e) => [e.querySelector('.text')?.textContent, e.getAttribute('data-status')])));
  }
}

describe('people\'s clients on the local platform: the web client in headless Chromium, and chat4all tail', { timeout: 180_000 }, () => {
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  let browser: Browser;
  let appUrl: string;
  let anon: ApiClient;

  before(async () => {
    // No GATEWAY_PUBLIC_URL: the supervisor tells the API where its gateway listens.
    platform = await startLocalPlatform({ routers: 1, gateways: 1 });
    appUrl = `${platform.supervisor.apiUrl}/app`;
    anon = new ApiClient(platform.supervisor.apiUrl);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await platform?.stop('web-client');
  });

  it('two people chat; one goes offline, messages wait, it comes back and catches up in order', async () => {
    const password = 'correct horse battery';
    const [a, b] = await Promise.all([anon.newUser('alice'), anon.newUser('bob')]);
    const conv = await a.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [b.userId] });
    assert.equal(conv.status, 201);
    const id = conv.body.conversation_id;
    const alice = new Person(await browser.newContext({ viewport: { width: 1100, height: 640 } }), a.username, a.userId);
    const bob = new Person(await browser.newContext({ viewport: { width: 1100, height: 640 } }), b.username, b.userId);
    await alice.open(appUrl, password);
    await bob.open(appUrl, password);
    for (const p of [alice, bob]) await p.page.click(`#conversations li[data-conversation-id="${id}"]`);

    // Presence: each sees the other online.
    await alice.page.waitForSelector(`#conversation-header [data-member="${b.userId}"] .dot[data-online=true]`);
    await bob.page.waitForSelector(`#conversation-header [data-member="${a.userId}"] .dot[data-online=true]`);

    // Live both ways; Bob has the conversation open, so Alice's tick goes to read.
    await alice.page.fill('#composer input', 'Olá Bob! 👋');
    await alice.page.press('#composer input', 'Enter');
    await bob.page.waitForSelector('#messages li.theirs >> text=Olá Bob! 👋');
    await alice.page.waitForSelector('#messages li.mine[data-status=READ]');
    await bob.page.fill('#composer input', 'Oi Alice, tudo bem?');
    await bob.page.press('#composer input', 'Enter');
    await alice.page.waitForSelector('#messages li.theirs >> text=Oi Alice, tudo bem?');

    // Bob goes offline: Alice sees it, and her messages wait (sent, not delivered).
    bob.setOffline(true);
    await bob.page.waitForSelector('#connection[data-state=offline]');
    await alice.page.waitForSelector(`#conversation-header [data-member="${b.userId}"] .dot[data-online=false]`, { timeout: 15_000 });
    const waiting = ['first while you were away', 'second', 'third', 'fourth', 'fifth'];
    for (const text of waiting) {
      await alice.page.fill('#composer input', text);
      await alice.page.press('#composer input', 'Enter');
    }
    await eventually(async () => {
      const t = await alice.ticks();
      return waiting.every((w) => t[w] === 'SENT') && t;
    }, 'the waiting messages to be sent (one tick)');
    assert.deepEqual((await bob.texts()).slice(-1), ['Oi Alice, tudo bem?'], 'nothing reached Bob while offline');
    const ticksWhileAway = await alice.ticks();
    for (const w of waiting) assert.equal(ticksWhileAway[w], 'SENT', `"${w}" waits`);

    // Bob comes back: his page resumes from its cursor and shows what he missed, in order, once.
    bob.setOffline(false);
    await bob.page.waitForSelector('#connection[data-state=online]', { timeout: 20_000 });
    await bob.page.waitForSelector('#messages li.theirs >> text=fifth');
    assert.deepEqual(await bob.texts(), ['Olá Bob! 👋', 'Oi Alice, tudo bem?', ...waiting]);
    const seqs = await bob.page.$$eval('#messages li', (els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
    // He acknowledged and read them: Alice's ticks turn blue.
    await eventually(async () => {
      const t = await alice.ticks();
      return waiting.every((w) => t[w] === 'READ') && t;
    }, "Alice's ticks to show read");
    await alice.page.waitForSelector(`#conversation-header [data-member="${b.userId}"] .dot[data-online=true]`);
    // Alice read Bob's last message around the time he left: his tick catches up too.
    await bob.page.waitForSelector('#messages li.mine[data-status=READ]');

    mkdirSync('test-artifacts', { recursive: true });
    await alice.page.screenshot({ path: 'test-artifacts/web-client-alice.png' });
    await bob.page.screenshot({ path: 'test-artifacts/web-client-bob.png' });
    // The API's own record agrees with the ticks.
    const history = await b.client.call<{ messages: { seq: number; payload: { text: string } }[] }>('GET', `/v1/conversations/${id}/messages`);
    assert.deepEqual(history.body.messages.map((m) => m.payload.text), ['Olá Bob! 👋', 'Oi Alice, tudo bem?', ...waiting]);
  });

  it('chat4all tail survives a kill -9 of its gateway: it reconnects and catches up in order, once', async () => {
    const password = 'correct horse battery';
    const [a, c] = await Promise.all([anon.newUser('alice'), anon.newUser('carol')]);
    const conv = await a.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [c.userId] });
    const id = conv.body.conversation_id;
    const token = (await anon.call<{ access_token: string }>('POST', '/auth/token', { username: c.username, password })).body.access_token;
    const home = mkdtempSync(join(tmpdir(), 'chat4all-tail-e2e-'));
    const send = async (text: string) =>
      assert.equal((await a.client.call('POST', '/v1/messages', { conversation_id: id, channels: ['internal'], payload: { type: 'text', text } })).status, 202);

    const child = spawn(process.execPath, ['bin/chat4all.js', 'tail', '--json', '--count', '4', '--timeout', '90'], {
      env: { ...process.env, XDG_CONFIG_HOME: home, CHAT4ALL_TOKEN: token, CHAT4ALL_GATEWAY: platform.supervisor.streamUrls[0]! },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const created = () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; seq: number; payload: { text: string } })
        .filter((f) => f.type === 'message.created');
    try {
      await eventually(async () => stderr.includes('tail: connected'), 'tail to connect', 30_000);
      await send('one');
      await eventually(async () => created().length === 1, 'the first message live', 15_000);

      await platform.supervisor.kill('gateway-1', 'KILL');
      await eventually(async () => /disconnected/.test(stderr), 'tail to notice', 15_000);
      await send('two');
      await send('three');
      await platform.supervisor.startProcess('gateway-1');
      await eventually(async () => (stderr.match(/tail: connected/g) ?? []).length >= 2, 'tail to reconnect', 30_000);
      await send('four');
      assert.equal(await exited, 0, stderr);
      assert.deepEqual(created().map((f) => [f.seq, f.payload.text]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']]);
    } finally {
      child.kill();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { stringify } from 'yaml';
import { chromium } from 'playwright-core';
import { startLocalPlatform } from '../support/local-platform.ts';
import { makeConversations, startSteadyLoad, type LoadConversation } from '../support/steady-load.ts';
import { ApiClient, eventually } from '../support/api-client.ts';
import { freePort } from '../../services/platform/free-port.ts';
import { closeServer, listen } from '../../services/core/listen.ts';
import { LiveSampler, parsePromText, type LiveSnapshot } from '../../services/platform/live-view-sampler.ts';
import { liveViewRoutes } from '../../services/platform/live-view.ts';
import type { ProcessInfo } from '../../services/platform/supervisor.ts';
import { dashboardExprs, documentedMetrics, metricNames, ruleExprs } from './observability-files.ts';

/**
 * One local platform (dev broker, simulator, two connectors, two routers, API) for every check
 * of issue #5's observability: the metric catalogue against docs/metrics.md, the metrics the
 * dashboards and rules read, the trace id in the process logs, a real Prometheus scraping the
 * platform, and the live view in headless Chromium.
 */
const LOAD_RATE = 20;
const ARTIFACTS = join('test-artifacts', 'observability');

let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
let sampler: LiveSampler;
let live: Awaited<ReturnType<typeof listen>>;
let prometheus: { child: ChildProcess; url: string; dir: string; exited: Promise<void> } | null = null;
let conversations: LoadConversation[];
let loadDone = false;

/** Where each process serves /metrics. */
const scrapable = (): ProcessInfo[] => platform.supervisor.ps().filter((p) => p.url && p.state === 'running');

async function startPrometheus(targets: ProcessInfo[]) {
  const dir = mkdtempSync(join(tmpdir(), 'chat4all-prom-'));
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    scrape_configs: targets.map((p) => ({
      job_name: p.name,
      static_configs: [{ targets: [new URL(p.url!).host], labels: { role: p.role } }],
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const log = openSync(join(dir, 'prometheus.log'), 'a');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  prometheus = { child, url, dir, exited };
  await eventually(async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok, 'Prometheus ready', 20_000);
}

async function stopPrometheus() {
  if (!prometheus) return;
  const { child, exited, dir } = prometheus;
  if (child.pid && child.exitCode === null) {
    process.kill(child.pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
    if ((await Promise.race([exited.then(() => 'gone' as const), timer])) === 'timeout' && child.exitCode === null) {
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  prometheus = null;
}

async function promQuery(expr: string): Promise<number | null> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
  assert.equal(body.status, 'success');
  const v = body.data.result[0]?.value[1];
  return v === undefined ? null : Number(v);
}

/** Scrapes every running process: its metric families (from `# TYPE`) and samples. */
async function scrapeAll() {
  return Promise.all(
    scrapable().map(async (p) => {
      const text = await (await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
      const families = new Map<string, string>();
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
      return { p, families, samples: parsePromText(text) };
    }),
  );
}

describe('observability of the local platform', { timeout: 240_000 }, () => {
  before(async () => {
    platform = await startLocalPlatform({ routers: 2 });
    sampler = new LiveSampler({ processes: () => platform.supervisor.ps() }).start();
    const app = express();
    app.use(liveViewRoutes(sampler));
    live = await listen(app, '127.0.0.1', 0);
    await startPrometheus(scrapable());
    conversations = await makeConversations(platform.supervisor.apiUrl, 8);
  });

  after(async () => {
    await stopPrometheus();
    await sampler?.stop();
    if (live) await closeServer(live.server);
    await platform?.stop('observability');
  });

  test("a delivery's log lines carry the trace id the API was given, from the API to the connector", async () => {
    const anon = new ApiClient(platform.supervisor.apiUrl);
    const sender = await anon.newUser('trace');
    const rcpt = await anon.newUser('trace-rcpt');
    const to = `+5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    assert.equal((await rcpt.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: to })).status, 201);
    const conv = await sender.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [rcpt.userId] });
    const token = (
      await anon.call<{ access_token: string }>('POST', '/auth/token', { username: sender.username, password: 'correct horse battery' })
    ).body.access_token;

    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${platform.supervisor.apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: JSON.stringify({ conversation_id: conv.body.conversation_id, channels: ['whatsapp'], payload: { type: 'text', text: 'traced' } }),
    });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('x-trace-id'), traceId);
    const { message_id } = (await res.json()) as { message_id: string };

    const linesOf = (name: string) =>
      readFileSync(join(platform.dataDir, 'logs', `${name}.log`), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const sent = await eventually(
      async () => linesOf('connector-whatsapp').find((l) => l.message_id === message_id && l.msg === 'provider accepted the delivery'),
      'the connector logging the delivery',
      20_000,
    );
    assert.equal(sent.trace_id, traceId);
    assert.equal(sent.conversation_id, conv.body.conversation_id);
    const accepted = linesOf('api').find((l) => l.message_id === message_id);
    assert.equal(accepted?.trace_id, traceId, 'the API logs the acceptance with the trace id');
    assert.equal(accepted?.conversation_id, conv.body.conversation_id);
  });

  test('Prometheus scraping the platform sees the accepted rate the test drove', { timeout: 90_000 }, async () => {
    const load = startSteadyLoad(conversations, LOAD_RATE, 25_000);
    const started = Date.now();
    let seen: number | null = null;
    try {
      // A 10 s window over 1 s scrapes: once the load has run that long, the rate is the offered one.
      seen = await eventually(
        async () => {
          if (Date.now() - started < 12_000) return null;
          const v = await promQuery('sum(rate(messages_accepted_total[10s]))');
          return v !== null && Math.abs(v - LOAD_RATE) <= LOAD_RATE * 0.2 ? v : null;
        },
        `rate(messages_accepted_total) within 20 % of ${LOAD_RATE}/s`,
        24_000,
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}; last value ${await promQuery('sum(rate(messages_accepted_total[10s]))')}`);
      });
    } finally {
      const result = await load.done();
      loadDone = true;
      assert.deepEqual(result.failed, [], 'every message accepted');
    }
    assert.ok(seen !== null);
    // Every process was scraped successfully.
    const up = await promQuery('count(up == 1)');
    assert.equal(up, scrapable().length);
  });

  test('every documented metric is exposed and every exposed metric is documented (docs/metrics.md)', async () => {
    const documented = documentedMetrics();
    const scrapes = await scrapeAll();
    const problems: string[] = [];
    const rowFor = (family: string, role: string) =>
      documented.find((d) => d.roles.includes(role) && (d.name.endsWith('*') ? family.startsWith(d.name.slice(0, -1)) : d.name === family));
    for (const { p, families, samples } of scrapes) {
      for (const [family, type] of families) {
        const row = rowFor(family, p.role);
        if (!row) {
          problems.push(`${p.name} exposes ${family} (${type}), which docs/metrics.md does not list for role ${p.role}`);
          continue;
        }
        if (!row.name.endsWith('*') && row.type !== type) problems.push(`${family}: documented as ${row.type}, exposed as ${type}`);
        if (row.name.endsWith('*')) continue;
        const allowed = new Set([...row.labels, 'service', 'le']);
        for (const s of samples) {
          if (s.name !== family && !(type === 'histogram' && [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(s.name))) continue;
          for (const l of Object.keys(s.labels)) if (!allowed.has(l)) problems.push(`${p.name}: ${family} has label ${l}, not documented`);
        }
      }
    }
    for (const d of documented) {
      for (const role of d.roles) {
        const ofRole = scrapes.filter((s) => s.p.role === role);
        if (ofRole.length === 0) {
          problems.push(`docs/metrics.md names role ${role} for ${d.name}, but no such process runs`);
          continue;
        }
        for (const s of ofRole) {
          const has = d.name.endsWith('*') ? [...s.families.keys()].some((f) => f.startsWith(d.name.slice(0, -1))) : s.families.has(d.name);
          if (!has) problems.push(`${d.name} is documented for ${role} but ${s.p.name} does not expose it`);
        }
      }
    }
    assert.deepEqual([...new Set(problems)], []);
  });

  test('every metric the dashboards and alert rules read is exposed by a running service', async () => {
    const names = new Set<string>();
    for (const { families, samples } of await scrapeAll()) {
      for (const f of families.keys()) names.add(f);
      for (const s of samples) names.add(s.name);
    }
    const missing = [...dashboardExprs(), ...ruleExprs()].flatMap((e) => metricNames(e.expr).filter((n) => !names.has(n)).map((n) => `${n} (${e.where})`));
    assert.deepEqual(missing, []);
  });

  test('routers and connectors report the consumer lag per partition, and its sum', async () => {
    const partitions = platform.supervisor.partitions;
    for (const { p, samples } of (await scrapeAll()).filter((s) => s.p.role === 'router' || s.p.role === 'connector')) {
      const lag = samples.filter((s) => s.name === 'kafka_consumergroup_lag');
      const groups = [...new Set(lag.map((s) => s.labels.consumergroup))];
      assert.ok(groups.length > 0, `${p.name} reports lag`);
      for (const g of groups) {
        const rows = lag.filter((s) => s.labels.consumergroup === g);
        assert.equal(rows.length, partitions, `${p.name}: one lag series per partition of ${g}`);
        const sum = samples.find((s) => s.name === 'kafka_consumergroup_lag_sum' && s.labels.consumergroup === g);
        assert.equal(sum?.value, rows.reduce((n, s) => n + s.value, 0), `${p.name}: the sum of ${g}`);
      }
      const refreshed = samples.find((s) => s.name === 'kafka_consumergroup_lag_refreshed_timestamp_seconds')?.value ?? 0;
      assert.ok(Date.now() / 1000 - refreshed < 10, `${p.name} read the lag within the last 10 s`);
    }
  });

  test('the live view charts the load in headless Chromium (screenshot in test-artifacts/observability/)', { timeout: 60_000 }, async () => {
    assert.ok(loadDone, 'runs after the load test');
    // The deliveries of the load finish arriving (DELIVERED webhooks) before the page is read.
    await eventually(async () => sampler.snapshot().points.some((p) => p.delivered_per_s > 0 && p.p99 !== null), 'deliveries in the live samples', 20_000);
    const snap = (await (await fetch(`${live.url}/live.json`)).json()) as LiveSnapshot;
    assert.ok(snap.points.some((p) => p.accepted_per_s > LOAD_RATE / 2), 'live.json shows the accepted rate');
    assert.ok(snap.points.at(-1)!.lag['chat4all-router'] !== undefined, 'live.json shows the router group lag');
    assert.deepEqual(Object.keys(snap.breakers).sort(), ['instagram', 'whatsapp']);

    const profile = mkdtempSync(join(tmpdir(), 'chat4all-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const offsite: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(live.url)) offsite.push(r.url());
      });
      await page.goto(`${live.url}/`, { timeout: 15_000 });
      await page.waitForFunction('Number(document.body.dataset.updates || 0) >= 2', undefined, { timeout: 15_000 });
      // A string, not a function: tsx's transform would add helpers the page does not have.
      const seen = (await page.evaluate(`({
        throughputMax: Number(document.getElementById('chart-throughput').dataset.max),
        latencyMax: Number(document.getElementById('chart-latency').dataset.max),
        lagSeries: document.querySelectorAll('#chart-lag path.series').length,
        throughputPath: document.querySelector('#chart-throughput path.series')?.getAttribute('d') ?? '',
        breakers: [...document.querySelectorAll('#breakers .tile')].map((t) => t.dataset.channel + ':' + t.dataset.state),
        processes: document.querySelectorAll('#processes tbody tr').length,
      })`)) as { throughputMax: number; latencyMax: number; lagSeries: number; throughputPath: string; breakers: string[]; processes: number };
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'live-view.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(seen.throughputMax >= LOAD_RATE / 2, `the throughput chart shows the load (max ${seen.throughputMax})`);
      assert.ok(seen.throughputPath.length > 20, 'the throughput chart draws a line');
      assert.ok(seen.latencyMax > 0, 'the latency chart shows percentiles');
      assert.ok(seen.lagSeries >= 3, `the lag chart has a line per consumer group (found ${seen.lagSeries})`);
      assert.deepEqual(seen.breakers.sort(), ['instagram:closed', 'whatsapp:closed']);
      assert.equal(seen.processes, platform.supervisor.ps().length);
      assert.deepEqual(offsite, [], 'the page loads nothing from elsewhere');
      assert.ok(statSync(shot).size > 10_000, 'a screenshot was saved');
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

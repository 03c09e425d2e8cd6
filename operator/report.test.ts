import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { writeEvidence } from './evidence.ts';
import { sampleJournal } from './testing/sample-journal.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts', 'experiments');

describe('the HTML report in headless Chromium', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let browser: BrowserContext;
  let profile: string;
  before(async () => {
    profile = mkdtempSync(join(tmpdir(), 'chat4all-chromium-'));
    // A fresh profile folder per run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1000, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('draws every chart (series, the shaded fault window, process lanes) and the verdict; a screenshot is kept', async () => {
    const root = mkdtempSync(join(tmpdir(), 'chat4all-report-'));
    const dir = writeEvidence(root, sampleJournal());
    const page = await browser.newPage();
    try {
      await page.goto(pathToFileURL(join(dir, 'report.html')).href, { timeout: 15_000 });
      const charts = page.locator('svg.chart');
      assert.equal(await charts.count(), 5, 'throughput, latency, lag per partition, process states, connectors');
      for (let i = 0; i < 5; i++) {
        const box = await charts.nth(i).boundingBox();
        assert.ok(box && box.width > 500 && box.height > 80, `chart ${i} is laid out: ${JSON.stringify(box)}`);
      }
      // Lines really drawn: polylines with a rendered length, not just markup.
      const drawn = await page.$$eval('svg.chart polyline.series', (els) => els.map((e) => (e as SVGPolylineElement).getTotalLength()).filter((l) => l > 50).length);
      assert.ok(drawn >= 4 + 3 + 12, `lines drawn: ${drawn}`);
      assert.ok((await page.locator('rect.fault-window').count()) >= 4, 'the fault window is shaded on the charts');
      assert.ok((await page.locator('rect.state').count()) > 50, 'process lanes drawn');
      assert.equal(await page.locator('#verdict').innerText(), 'Fail');
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'report.png');
      await page.screenshot({ path: shot, fullPage: true, timeout: 15_000 });
      assert.ok(statSync(shot).size > 10_000, 'screenshot saved');
      await page.goto(pathToFileURL(join(root, 'index.html')).href, { timeout: 15_000 });
      assert.match(await page.locator('table').innerText(), /router-failover\s+Fail/);
    } finally {
      await page.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

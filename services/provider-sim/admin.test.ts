import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { call, provider, startSim, waText, webhooksIdle, type RunningSim } from './test-support.ts';

describe('admin API', () => {
  let run: RunningSim;
  let waUrl: string;

  before(async () => {
    run = await startSim({ webhookUrls: { instagram: 'http://127.0.0.1:1/start' } });
    waUrl = `${run.url}/v21.0/100000000000002/messages`;
  });
  after(() => run.stop());
  beforeEach(() => call('POST', `${run.url}/_sim/reset`));

  test('healthz answers ok', async () => {
    const res = await call('GET', `${run.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  test('received lists accepted calls in order, filters by channel and recipient, and counts duplicates', async () => {
    await provider(waUrl, waText('+5511911111111', 'same'));
    await provider(waUrl, waText('5511922222222', 'same'));
    await provider(waUrl, waText('5511911111111', 'same'));
    await provider(waUrl, waText('5511911111111', 'different'));
    await provider(`${run.url}/v21.0/me/messages`, { recipient: { id: '5511911111111' }, message: { text: 'same' } });

    const all = (await call('GET', `${run.url}/_sim/received`)).body;
    assert.equal(all.total, 5);
    assert.equal(all.duplicates, 1);
    assert.deepEqual(all.received.map((r: { duplicate_count: number }) => r.duplicate_count), [1, 0, 1, 0, 0]);

    const one = (await call('GET', `${run.url}/_sim/received?channel=whatsapp&to=%2B5511911111111`)).body;
    assert.equal(one.total, 3);
    assert.deepEqual(one.received.map((r: { text: string }) => r.text), ['same', 'same', 'different']);
    // An unencoded + arrives as a space; the recipient still matches.
    assert.equal((await call('GET', `${run.url}/_sim/received?to=+5511911111111`)).body.total, 4);
    assert.equal((await call('GET', `${run.url}/_sim/received?channel=instagram`)).body.total, 1);
    assert.equal((await call('GET', `${run.url}/_sim/received?channel=sms`)).status, 400);
  });

  test('received?after= lists only newer entries, so a poller reads each message once', async () => {
    const start = (await call('GET', `${run.url}/_sim/received?after=0`)).body.last_index as number;
    await provider(waUrl, waText('5511911111111', 'one'));
    await provider(`${run.url}/v21.0/me/messages`, { recipient: { id: '17841' }, message: { text: 'ig' } });
    await provider(waUrl, waText('5511911111111', 'two'));

    const first = (await call('GET', `${run.url}/_sim/received?channel=whatsapp&after=${start}`)).body;
    assert.deepEqual(first.received.map((r: { text: string }) => r.text), ['one', 'two']);
    assert.deepEqual(first.received.map((r: { index: number }) => r.index), [start + 1, start + 3]);
    assert.equal(first.last_index, start + 3);

    await provider(waUrl, waText('5511911111111', 'one'));
    const next = (await call('GET', `${run.url}/_sim/received?channel=whatsapp&after=${first.last_index}`)).body;
    assert.deepEqual(next.received.map((r: { text: string }) => r.text), ['one']);
    assert.equal(next.duplicates, 1, 'a repeat of a message before the window still counts');
    assert.equal(next.received[0].duplicate_count, 1);

    const empty = (await call('GET', `${run.url}/_sim/received?after=${next.last_index}`)).body;
    assert.equal(empty.total, 0);
    assert.equal(empty.last_index, next.last_index);

    // A reset empties the log but never reuses an index: an old `after` sees only new entries.
    await call('POST', `${run.url}/_sim/reset`);
    await provider(waUrl, waText('5511911111111', 'after reset'));
    const fresh = (await call('GET', `${run.url}/_sim/received?after=${next.last_index}`)).body;
    assert.deepEqual(fresh.received.map((r: { text: string }) => r.text), ['after reset']);
    assert.equal(fresh.duplicates, 0);
    assert.equal((await call('GET', `${run.url}/_sim/received?after=-1`)).status, 400);
  });

  test('config changes apply and are shown; invalid config is refused field by field', async () => {
    const res = await call('POST', `${run.url}/_sim/config`, {
      webhook_urls: { whatsapp: 'http://127.0.0.1:9/wa', instagram: null },
      webhook_delays_ms: { read: 500 },
      order: 'shuffled',
      duplicate: true,
      inbound_shuffle_ms: 50,
      auto_read: false,
      undeliverable: { whatsapp: ['+5511900000000'] },
    });
    assert.equal(res.status, 200);
    const shown = (await call('GET', `${run.url}/_sim/config`)).body;
    assert.deepEqual(shown, {
      webhook_urls: { whatsapp: 'http://127.0.0.1:9/wa' },
      webhook_delays_ms: { sent: 5, delivered: 15, read: 500 },
      order: 'shuffled',
      duplicate: true,
      inbound_shuffle_ms: 50,
      auto_read: false,
      undeliverable: { whatsapp: ['5511900000000'], instagram: [] },
    });

    const bad = await call('POST', `${run.url}/_sim/config`, { webhook_urls: { whatsapp: 'ftp://x' }, order: 'random', webhook_delays_ms: { sent: -1 } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), ['order', 'webhook_delays_ms.sent', 'webhook_urls.whatsapp']);
    assert.equal((await call('GET', `${run.url}/_sim/config`)).body.order, 'shuffled', 'a refused patch changes nothing');
  });

  test('malformed JSON on an admin endpoint is a 400 problem, not a 500', async () => {
    const res = await fetch(`${run.url}/_sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":' });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((await res.json()).status, 400);
  });

  test('reset restores the start configuration and clears faults, log and stats', async () => {
    await call('POST', `${run.url}/_sim/config`, { webhook_urls: { instagram: null }, order: 'shuffled', undeliverable: { instagram: ['1'] } });
    await call('POST', `${run.url}/_sim/faults`, { channel: 'all', latency_ms: 1, error_code: 4 });
    await provider(waUrl, waText('5511999999999', 'x'));
    assert.equal((await call('POST', `${run.url}/_sim/reset`)).status, 200);

    const config = (await call('GET', `${run.url}/_sim/config`)).body;
    assert.deepEqual(config.webhook_urls, { instagram: 'http://127.0.0.1:1/start' });
    assert.equal(config.order, 'in_order');
    assert.deepEqual(config.undeliverable.instagram, []);
    const faults = (await call('GET', `${run.url}/_sim/faults`)).body;
    assert.equal(faults.whatsapp.latency_ms, 0);
    assert.equal(faults.whatsapp.error_code, 130429);
    assert.equal(faults.instagram.error_code, 4);
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body;
    assert.equal(stats.whatsapp.requests, 0);
    assert.equal(stats.whatsapp.accepted, 0);
  });

  test('metrics expose requests and webhooks by channel on the simulator registry', async () => {
    await provider(waUrl, waText('5511999999999', 'counted'));
    await provider(waUrl, waText('5511999999999', 'a'.repeat(5000)));
    await webhooksIdle(run);
    const res = await fetch(`${run.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /provider_sim_requests_total\{channel="whatsapp",outcome="accepted"\} [1-9]/);
    assert.match(text, /provider_sim_requests_total\{channel="whatsapp",outcome="rejected"\} [1-9]/);
    assert.match(text, /provider_sim_webhooks_total\{channel="whatsapp",result="skipped"\} [1-9]/);
  });

  test('unknown paths answer a 404 problem', async () => {
    const res = await call('GET', `${run.url}/_sim/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.body.status, 404);
    assert.equal((await call('GET', `${run.url}/nowhere`)).status, 404);
  });
});

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { call, provider, startSim, waitFor, waText, type RunningSim } from './test-support.ts';

describe('fault injection', () => {
  let run: RunningSim;
  let waUrl: string;
  let igUrl: string;

  before(async () => {
    run = await startSim({ timeoutHoldMs: 10_000 });
    waUrl = `${run.url}/v21.0/100000000000002/messages`;
    igUrl = `${run.url}/v21.0/me/messages`;
  });
  after(() => run.stop());
  beforeEach(() => call('POST', `${run.url}/_sim/reset`));

  const faults = (body: unknown) => call('POST', `${run.url}/_sim/faults`, body);
  const igText = { recipient: { id: '42' }, message: { text: 'hi' } };

  test('down takes every channel to 503 code 2 until the faults are cleared', async () => {
    assert.equal((await faults({ channel: 'all', down: true })).status, 200);
    const wa = await provider(waUrl, waText('5511999999999', 'x'));
    assert.equal(wa.status, 503);
    assert.equal(wa.body.error.code, 2);
    const ig = await provider(igUrl, igText);
    assert.equal(ig.status, 503);
    assert.equal(ig.body.error.code, 2);
    const state = (await call('GET', `${run.url}/_sim/faults`)).body;
    assert.equal(state.whatsapp.down, true);
    assert.equal(state.instagram.down, true);

    assert.equal((await call('DELETE', `${run.url}/_sim/faults`)).status, 200);
    assert.equal((await provider(waUrl, waText('5511999999999', 'x'))).status, 200);
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body;
    assert.equal(stats.whatsapp.faults.down, 1);
    assert.equal(stats.whatsapp.accepted, 1);
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 1);
  });

  test('a fault on one channel leaves the other alone', async () => {
    await faults({ channel: 'instagram', down: true });
    assert.equal((await provider(waUrl, waText('5511999999999', 'x'))).status, 200);
    assert.equal((await provider(igUrl, igText)).status, 503);
  });

  test('error_rate 1 fails WhatsApp with 429 130429 and Retry-After by default', async () => {
    await faults({ channel: 'whatsapp', error_rate: 1 });
    const res = await provider(waUrl, waText('5511999999999', 'x'));
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.body.error.code, 130429);
    assert.equal(res.body.error.error_data.messaging_product, 'whatsapp');
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp;
    assert.equal(stats.rejected['130429'], 1);
    assert.equal(stats.faults.error, 1);
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0, 'a failed call is not received');
  });

  const statusByCode: Array<[number, number]> = [
    [131000, 500],
    [1, 500],
    [131056, 429],
    [131047, 400],
  ];
  for (const [code, status] of statusByCode) {
    test(`error_code ${code} answers HTTP ${status}`, async () => {
      await faults({ channel: 'whatsapp', error_rate: 1, error_code: code });
      const res = await provider(waUrl, waText('5511999999999', 'x'));
      assert.equal(res.status, status);
      assert.equal(res.body.error.code, code);
    });
  }

  test('latency_ms delays the answer of the faulted channel', async () => {
    await faults({ channel: 'whatsapp', latency_ms: 150 });
    const started = performance.now();
    const res = await provider(waUrl, waText('5511999999999', 'slow'));
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 145, `answered after ${elapsed} ms`);
    assert.equal((await call('GET', `${run.url}/_sim/faults`)).body.instagram.latency_ms, 0);
  });

  test('timeout_rate 1 never answers, and the call is not received', async () => {
    await faults({ channel: 'whatsapp', timeout_rate: 1 });
    await assert.rejects(
      fetch(waUrl, {
        method: 'POST',
        headers: { authorization: 'Bearer test-provider-token', 'content-type': 'application/json' },
        body: JSON.stringify(waText('5511999999999', 'lost')),
        signal: AbortSignal.timeout(200),
      }),
      (err: Error) => err.name === 'TimeoutError',
    );
    const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp;
    assert.equal(stats.faults.timeout, 1);
    assert.equal((await call('GET', `${run.url}/_sim/received`)).body.total, 0);
  });

  test('lost_response_rate accepts the message but drops the answer, so a retry is a visible duplicate', async () => {
    await faults({ channel: 'whatsapp', lost_response_rate: 1 });
    const body = JSON.stringify(waText('5511999999999', 'once only'));
    const headers = { authorization: 'Bearer test-provider-token', 'content-type': 'application/json' };
    await assert.rejects(fetch(waUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(200) }));
    await call('DELETE', `${run.url}/_sim/faults`);
    assert.equal((await provider(waUrl, JSON.parse(body))).status, 200);
    const received = (await call('GET', `${run.url}/_sim/received`)).body;
    assert.equal(received.total, 2);
    assert.equal(received.duplicates, 1);
    assert.deepEqual(received.received.map((r: { duplicate_count: number }) => r.duplicate_count), [1, 1]);
  });

  test('rejects invalid fault settings with problem+json naming every field', async () => {
    const res = await fetch(`${run.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'sms', error_rate: 2, errorRate: 0.5 }),
    });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = await res.json();
    assert.equal(problem.status, 400);
    assert.equal(typeof problem.title, 'string');
    assert.equal(typeof problem.type, 'string');
    const fields = problem.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['channel', 'errorRate', 'error_rate']);
    assert.equal((await call('GET', `${run.url}/_sim/faults`)).body.whatsapp.error_rate, 0, 'nothing applied');
  });
});

describe('fault injection rates', () => {
  test('error_rate 0.5 fails exactly the calls whose roll is below it', async () => {
    const rolls = [0.1, 0.9, 0.4, 0.6, 0.49, 0.5];
    let i = 0;
    const run = await startSim({ random: () => rolls[i++ % rolls.length]! });
    try {
      await call('POST', `${run.url}/_sim/faults`, { channel: 'instagram', error_rate: 0.5, error_code: 613 });
      const statuses: number[] = [];
      for (let n = 0; n < rolls.length; n += 1) {
        statuses.push((await provider(`${run.url}/v21.0/me/messages`, { recipient: { id: '1' }, message: { text: `m${n}` } })).status);
      }
      assert.deepEqual(statuses, [429, 200, 429, 200, 429, 200]);
      const stats = (await call('GET', `${run.url}/_sim/stats`)).body.instagram;
      assert.equal(stats.rejected['613'], 3);
      assert.equal(stats.accepted, 3);
    } finally {
      await run.stop();
    }
  });

  test('close() ends a held call instead of waiting for the hold', async () => {
    const run = await startSim({ timeoutHoldMs: 60_000 });
    await call('POST', `${run.url}/_sim/faults`, { channel: 'whatsapp', timeout_rate: 1 });
    const pending = fetch(`${run.url}/v21.0/100000000000002/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-provider-token', 'content-type': 'application/json' },
      body: JSON.stringify(waText('5511999999999', 'held')),
    });
    const outcome = pending.then(() => 'answered', () => 'socket closed');
    await waitFor('the call to be held', async () => run.sim.state.stats.snapshot().whatsapp.faults.timeout === 1);
    const started = performance.now();
    await run.stop();
    assert.equal(await outcome, 'socket closed');
    assert.ok(performance.now() - started < 2000);
  });
});

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { verifyWebhookSignature } from './signature.ts';
import { call, provider, startReceiver, startSim, TEST_SECRET, waitFor, waText, webhooksIdle, type WebhookReceiver } from './test-support.ts';

const WA_SEND = '/v21.0/100000000000002/messages';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every WhatsApp status the receiver got, in arrival order, however they were batched. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk Meta's nested payloads
function statusesOf(receiver: WebhookReceiver): any[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return receiver.requests.flatMap((r) => r.body.entry.flatMap((e: any) => e.changes.flatMap((c: any) => c.value.statuses ?? [])));
}

describe('webhook delivery', () => {
  test('retries a receiver that answers 500, with the same signed body', async () => {
    const receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url } });
    try {
      const res = await call('POST', `${run.url}/_sim/inbound`, { channel: 'whatsapp', from: '+5511977776666', text: 'hi' });
      assert.equal(res.status, 202);
      await webhooksIdle(run);
      assert.equal(receiver.requests.length, 3);
      assert.equal(new Set(receiver.requests.map((r) => r.raw)).size, 1, 'every retry carries the same body');
      assert.ok(receiver.requests.every((r) => verifyWebhookSignature(r.raw, r.headers['x-hub-signature-256'] as string, TEST_SECRET)));
      const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp.webhooks;
      assert.deepEqual({ sent: stats.sent, failed: stats.failed, attempts: stats.attempts }, { sent: 1, failed: 0, attempts: 3 });
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('gives up after maxAttempts when the receiver is unreachable, and counts it', async () => {
    const run = await startSim({
      webhookUrls: { instagram: `http://127.0.0.1:${await closedPort()}/hook` },
      webhookRetry: { baseDelayMs: 5, maxAttempts: 4 },
    });
    try {
      await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: '77', text: 'anyone?' });
      await webhooksIdle(run);
      const stats = (await call('GET', `${run.url}/_sim/stats`)).body.instagram.webhooks;
      assert.deepEqual({ sent: stats.sent, failed: stats.failed, attempts: stats.attempts }, { sent: 0, failed: 1, attempts: 4 });
      const metrics = await (await fetch(`${run.url}/metrics`)).text();
      assert.match(metrics, /provider_sim_webhooks_total\{channel="instagram",result="failed"\} 1/);
    } finally {
      await run.stop();
    }
  });

  test('shuffled order can deliver read before delivered, keeping each status timestamp', async () => {
    const receiver = await startReceiver();
    // random() = 0 turns [sent, delivered, read] into [delivered, read, sent].
    // Sent 10 ms before a second boundary: sent (+5 ms) falls in the first second, delivered
    // (+40) and read (+80) in the next, whatever order they are delivered in.
    const run = await startSim({
      webhookUrls: { whatsapp: receiver.url },
      order: 'shuffled',
      random: () => 0,
      clock: { now: () => 1_700_000_000_990 },
      webhookDelaysMs: { sent: 5, delivered: 40, read: 80 },
    });
    try {
      await provider(`${run.url}${WA_SEND}`, waText('5511999999999', 'shuffle me'));
      await webhooksIdle(run);
      // Flattened: on a starved event loop two overdue timers fire together and share a POST.
      const statuses = statusesOf(receiver);
      assert.deepEqual(statuses.map((s) => s.status), ['delivered', 'read', 'sent']);
      assert.deepEqual(statuses.map((s) => s.timestamp), ['1700000001', '1700000001', '1700000000']);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('Instagram echo follows the same rules: shuffled before/after read with nominal timestamps, retried with the same signed body', async () => {
    // The first POST fails: the echo (or whatever comes first) is retried with identical bytes.
    const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
    // random() = 0 turns [echo, read] into [read, echo].
    const run = await startSim({
      webhookUrls: { instagram: receiver.url },
      order: 'shuffled',
      random: () => 0,
      clock: { now: () => 1_700_000_000_000 },
      webhookDelaysMs: { sent: 5, delivered: 10, read: 250 },
    });
    try {
      const res = await provider(`${run.url}/v21.0/me/messages`, { recipient: { id: '77' }, message: { text: 'x', metadata: 'ref-1' } });
      await webhooksIdle(run);
      assert.equal(receiver.requests.length, 3);
      assert.equal(receiver.requests[0]!.raw, receiver.requests[1]!.raw, 'the failed POST is retried with the same body');
      assert.ok(receiver.requests.every((r) => verifyWebhookSignature(r.raw, r.headers['x-hub-signature-256'] as string, TEST_SECRET)));
      const events = receiver.requests.slice(1).map((r) => r.body.entry[0].messaging[0]);
      assert.deepEqual(
        events.map((e) => [e.read ? 'read' : 'echo', e.timestamp]),
        [
          ['read', 1_700_000_000_250],
          ['echo', 1_700_000_000_005],
        ],
      );
      assert.deepEqual(events[1].message, { mid: res.body.message_id, is_echo: true, text: 'x', metadata: 'ref-1' });
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('duplicate mode sends every status twice', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url } });
    try {
      await call('POST', `${run.url}/_sim/config`, { duplicate: true });
      await provider(`${run.url}${WA_SEND}`, waText('5511999999999', 'twice'));
      await webhooksIdle(run);
      const statuses = statusesOf(receiver).map((s) => s.status);
      assert.deepEqual(statuses, ['sent', 'sent', 'delivered', 'delivered', 'read', 'read']);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('statuses that pile up behind a busy receiver share POSTs, each message in order, every body signed', async () => {
    const receiver = await startReceiver(() => 200, 40);
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url }, webhookBatching: { maxInFlight: 1 } });
    try {
      const sends = 30;
      const ids: string[] = [];
      for (let i = 0; i < sends; i++) ids.push((await provider(`${run.url}${WA_SEND}`, waText('5511999999999', `pile ${i}`))).body.messages[0].id);
      await webhooksIdle(run);
      assert.ok(receiver.requests.every((r) => verifyWebhookSignature(r.raw, r.headers['x-hub-signature-256'] as string, TEST_SECRET)));
      const statuses = statusesOf(receiver);
      assert.equal(statuses.length, sends * 3, 'every status arrives once');
      assert.ok(receiver.requests.length < sends * 3, `${receiver.requests.length} POSTs carry ${sends * 3} statuses`);
      for (const id of ids) {
        assert.deepEqual(statuses.filter((st) => st.id === id).map((st) => st.status), ['sent', 'delivered', 'read'], `statuses of ${id}`);
      }
      const stats = (await call('GET', `${run.url}/_sim/stats`)).body.whatsapp.webhooks;
      assert.deepEqual({ sent: stats.sent, attempts: stats.attempts }, { sent: sends * 3, attempts: receiver.requests.length });
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('statuses of messages sent apart but due in the same slot share a POST; without slots each has its own', async () => {
    const postsFor = async (slotMs: number) => {
      const receiver = await startReceiver();
      const run = await startSim({ webhookUrls: { whatsapp: receiver.url }, autoRead: false, webhookDelaysMs: { sent: 5, delivered: 10 }, webhookBatching: { slotMs } });
      try {
        for (let i = 0; i < 3; i++) {
          await provider(`${run.url}${WA_SEND}`, waText('5511999999999', `slot ${i}`));
          await new Promise((r) => setTimeout(r, 25));
        }
        await webhooksIdle(run);
        assert.equal(statusesOf(receiver).length, 6);
        return receiver.requests.length;
      } finally {
        await run.stop();
        await receiver.close();
      }
    };
    assert.ok((await postsFor(0)) >= 5, 'each status on its own timer (two may meet on a stalled loop)');
    // The six come due within ~70 ms: a 1 s grid puts them in at most two slots, sent then delivered in each.
    assert.ok((await postsFor(1000)) <= 4);
  });

  test('a failed POST of several events is retried whole, and every event in it counts as sent once', async () => {
    const receiver = await startReceiver((n) => (n === 2 ? 503 : 200), 30);
    const run = await startSim({ webhookUrls: { instagram: receiver.url }, webhookBatching: { maxInFlight: 1 }, autoRead: false });
    try {
      for (let i = 0; i < 10; i++) await provider(`${run.url}/v21.0/me/messages`, { recipient: { id: `u${i}` }, message: { text: `m${i}` } });
      await webhooksIdle(run);
      // The retry waits its backoff outside the in-flight cap, so later POSTs may go first.
      assert.ok(receiver.requests.slice(2).some((r) => r.raw === receiver.requests[1]!.raw), 'the failed body is sent again as it was');
      assert.ok(receiver.requests[1]!.body.entry[0].messaging.length > 1, 'the failed POST carried several events');
      const echoes = new Set(receiver.requests.flatMap((r) => r.body.entry[0].messaging.map((m: { message: { mid: string } }) => m.message.mid)));
      assert.equal(echoes.size, 10);
      const stats = (await call('GET', `${run.url}/_sim/stats`)).body.instagram.webhooks;
      assert.deepEqual({ sent: stats.sent, failed: stats.failed }, { sent: 10, failed: 0 });
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('close() cancels scheduled webhooks: nothing is sent afterwards', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url }, webhookDelaysMs: { sent: 5_000, delivered: 5_000, read: 5_000 } });
    await provider(`${run.url}${WA_SEND}`, waText('5511999999999', 'never reported'));
    assert.equal(run.sim.state.stats.snapshot().whatsapp.webhooks.pending, 3);
    const started = performance.now();
    await run.stop();
    assert.ok(performance.now() - started < 1000, 'close does not wait for the timers');
    const after = run.sim.state.stats.snapshot().whatsapp.webhooks;
    assert.deepEqual({ pending: after.pending, attempts: after.attempts }, { pending: 0, attempts: 0 });
    assert.equal(receiver.requests.length, 0);
    await receiver.close();
  });

  test('reset cancels webhooks still scheduled', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url }, webhookDelaysMs: { sent: 5_000, delivered: 5_000, read: 5_000 } });
    try {
      await provider(`${run.url}${WA_SEND}`, waText('5511999999999', 'forgotten'));
      await call('POST', `${run.url}/_sim/reset`);
      await webhooksIdle(run);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });
});

describe('inbound messages from simulated users', () => {
  test('WhatsApp inbound has messages, contacts and metadata in the real shape', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url }, whatsapp: { wabaId: 'WABA1', phoneNumberId: 'PN1', displayPhoneNumber: '15551234567' } });
    try {
      const res = await call('POST', `${run.url}/_sim/inbound`, { channel: 'whatsapp', from: '+5511977776666', text: 'Olá', name: 'Maria' });
      assert.equal(res.status, 202);
      assert.match(res.body.id, /^wamid\./);
      const hook = await waitFor('the inbound webhook', () => receiver.requests[0]);
      assert.ok(verifyWebhookSignature(hook.raw, hook.headers['x-hub-signature-256'] as string, TEST_SECRET));
      assert.equal(hook.body.object, 'whatsapp_business_account');
      assert.equal(hook.body.entry[0].id, 'WABA1');
      const value = hook.body.entry[0].changes[0].value;
      assert.deepEqual(value.metadata, { display_phone_number: '15551234567', phone_number_id: 'PN1' });
      assert.deepEqual(value.contacts, [{ profile: { name: 'Maria' }, wa_id: '5511977776666' }]);
      const [message] = value.messages;
      assert.equal(message.id, res.body.id);
      assert.equal(message.from, '5511977776666');
      assert.equal(message.type, 'text');
      assert.deepEqual(message.text, { body: 'Olá' });
      assert.match(message.timestamp, /^\d{10}$/);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('Instagram inbound has messaging[].message with mid and text', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { instagram: receiver.url }, instagram: { accountId: 'IG1' } });
    try {
      const res = await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: 'IGSID42', text: 'hey' });
      assert.equal(res.status, 202);
      const hook = await waitFor('the inbound webhook', () => receiver.requests[0]);
      assert.equal(hook.body.object, 'instagram');
      const event = hook.body.entry[0].messaging[0];
      assert.equal(hook.body.entry[0].id, 'IG1');
      assert.deepEqual(event.sender, { id: 'IGSID42' });
      assert.deepEqual(event.recipient, { id: 'IG1' });
      assert.deepEqual(event.message, { mid: res.body.id, text: 'hey' });
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('inbound without a webhook URL is refused with 409, and a bad sender with 400', async () => {
    const run = await startSim();
    try {
      const none = await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: 'x', text: 'y' });
      assert.equal(none.status, 409);
      assert.match(none.body.detail, /webhook_urls\.instagram/);
      const bad = await call('POST', `${run.url}/_sim/inbound`, { channel: 'whatsapp', from: 'abc', text: 'y' });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field), ['from']);
    } finally {
      await run.stop();
    }
  });
});

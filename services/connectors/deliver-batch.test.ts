import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../core/ports/stores.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { DeliveryJob } from '../core/records.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { deliverBatch } from './deliver-batch.ts';
import type { DeliverDeps } from './deliver.ts';
import { createConnectorMetrics } from './metrics.ts';
import { ProviderError } from './provider-error.ts';
import { RecentSends } from './recent-sends.ts';

/** The store, counting the calls of each method. */
function counted(deliveries: DeliveryStore) {
  const calls = new Map<string, number>();
  const proxy = new Proxy(deliveries, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { proxy, calls };
}

describe('deliverBatch: a fetched batch of delivery jobs', () => {
  let stores: Stores;
  let sent: { to: string; text: string; reference?: string }[];
  let refuse: (text: string) => Error | null;
  let answerAfterMs: () => number;
  let deps: DeliverDeps;
  let calls: Map<string, number>;
  const bob = randomUUID();

  beforeEach(() => {
    stores = openSqliteStores(':memory:');
    sent = [];
    refuse = () => null;
    answerAfterMs = () => 0;
    const connector = {
      channel: 'whatsapp',
      sendText: async (to: string, text: string, o?: { reference?: string }) => {
        const wait = answerAfterMs();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const err = refuse(text);
        if (err) throw err;
        sent.push({ to, text, reference: o?.reference });
        return { provider_message_id: `wamid.${randomUUID()}` };
      },
    } as unknown as ChannelConnector;
    const spy = counted(stores.deliveries);
    calls = spy.calls;
    deps = {
      ...stores,
      deliveries: spy.proxy,
      clock: { now: () => Date.now() },
      logger: createLogger('connectors', 'silent'),
      metrics: createConnectorMetrics(createRegistry('connectors-test')),
      connectors: new Map([['whatsapp', connector]]),
      files: { files: stores.files, objects: { presignGet: async () => assert.fail('no files here') }, providerUrlTtlSeconds: 60, linkFallbackTtlSeconds: 60 },
      inDoubtGraceMs: 1000,
      inDoubtShortGraceMs: 1000,
      startedAt: Date.now(),
      maxAgeMs: 60_000,
      backoff: { baseMs: 10_000, maxMs: 10_000 },
      attempts: new Map(),
    };
  });
  afterEach(() => stores.close());

  /** A conversation with `n` messages routed to Bob on WhatsApp; their jobs in seq order. */
  async function conversation(n: number, address: string): Promise<DeliveryJob[]> {
    const conversation_id = randomUUID();
    const now = new Date().toISOString();
    await stores.conversations.createConversation({ conversation_id, type: 'private', members: [randomUUID(), bob], name: null, metadata: null, created_at: now });
    const jobs: DeliveryJob[] = [];
    for (let i = 0; i < n; i++) {
      const message_id = randomUUID();
      const text = `${address} #${i}`;
      await stores.messages.acceptMessage({ message_id, conversation_id, sender_id: randomUUID(), payload: { type: 'text', text }, channels: ['all'], metadata: null, body_hash: 'h', trace_id: 't', created_at: now });
      const routed = await stores.messages.routeMessage(message_id, [{ recipient_id: bob, channel: 'whatsapp', address }], now);
      const d = routed.deliveries[0]!;
      jobs.push({ delivery_id: d.delivery_id, message_id, conversation_id, seq: routed.seq, channel: 'whatsapp', recipient_id: bob, to: address, payload: { type: 'text', text }, accepted_at: now, trace_id: 't' });
    }
    return jobs;
  }
  const textsTo = (address: string) => sent.filter((s) => s.to === address).map((s) => s.text);

  it('sends each conversation in seq order, older unsent first, with one in-flight write and one provider-id write for the batch', async () => {
    const [a, b, c] = [await conversation(4, '+551'), await conversation(3, '+552'), await conversation(1, '+553')];
    // a's first job is not in the batch (its record went out earlier, the send did not): it goes first.
    const batch = [a[1]!, b[0]!, a[2]!, c[0]!, b[1]!, a[3]!, b[2]!];
    // Answers in one turn: their ids go in one write.
    await deliverBatch(deps, batch, 4);

    assert.deepEqual(textsTo('+551'), ['+551 #0', '+551 #1', '+551 #2', '+551 #3']);
    assert.deepEqual(textsTo('+552'), ['+552 #0', '+552 #1', '+552 #2']);
    assert.deepEqual(textsTo('+553'), ['+553 #0']);
    for (const job of [...a, ...b, ...c]) {
      const d = (await stores.deliveries.getDelivery(job.delivery_id))!;
      assert.match(d.provider_message_id ?? '', /^wamid\./, `${job.payload.type} of seq ${job.seq} recorded`);
      assert.equal(d.in_flight_since, null);
    }
    assert.equal(calls.get('markManyInFlight'), 1);
    assert.equal(calls.get('recordProviderRefs'), 1);
    assert.equal(calls.get('listUnsentBefore'), 3, 'one look at the backlog per conversation, not per job');
    for (const oneByOne of ['markInFlight', 'recordProviderRef', 'getDelivery']) assert.equal(calls.get(oneByOne), undefined, oneByOne);
  });

  it('writes the provider ids of calls that answer at different times soon after each, every one before the batch ends', async () => {
    const a = await conversation(6, '+581');
    answerAfterMs = () => 5;
    const written: number[] = [];
    const record = stores.deliveries.recordProviderRefs.bind(stores.deliveries);
    deps.deliveries.recordProviderRefs = async (refs) => (written.push(refs.length), record(refs));
    await deliverBatch(deps, a, 4);
    assert.deepEqual(textsTo('+581'), a.map((_, i) => `+581 #${i}`));
    assert.ok(written.length > 1, `a write per answer, not one at the end (${written.join(', ')})`);
    for (const job of a) assert.ok((await stores.deliveries.getDelivery(job.delivery_id))!.provider_message_id);
  });

  it('shares the writes of batches handled at the same time (the partitions of one fetch)', async () => {
    const [a, b, c] = [await conversation(2, '+591'), await conversation(2, '+592'), await conversation(1, '+593')];
    await Promise.all([deliverBatch(deps, a, 4), deliverBatch(deps, b, 4), deliverBatch(deps, c, 4)]);
    assert.deepEqual([textsTo('+591'), textsTo('+592'), textsTo('+593')], [['+591 #0', '+591 #1'], ['+592 #0', '+592 #1'], ['+593 #0']]);
    assert.equal(calls.get('markManyInFlight'), 1, 'one in-flight write for the three batches');
    assert.equal(calls.get('recordProviderRefs'), 1, 'one provider-id write for the three batches');
  });

  it('stops a conversation at a delivery that has to wait, parked, the rest of it not in flight; other conversations go on', async () => {
    const [a, b] = [await conversation(3, '+561'), await conversation(2, '+562')];
    refuse = (text) => (text === '+561 #1' ? new ProviderError({ channel: 'whatsapp', code: 'provider_unavailable', message: 'down', retriable: true, httpStatus: 503 }) : null);
    await deliverBatch(deps, [...a, ...b], 4);

    assert.deepEqual(textsTo('+561'), ['+561 #0']);
    assert.deepEqual(textsTo('+562'), ['+562 #0', '+562 #1']);
    const [, waits, behind] = await Promise.all(a.map(async (j) => (await stores.deliveries.getDelivery(j.delivery_id))!));
    assert.ok(waits!.next_attempt_at, 'the refused one is parked');
    assert.equal(waits!.in_flight_since, null, 'a refusal is not in doubt');
    assert.equal(behind!.provider_message_id, null);
    assert.equal(behind!.in_flight_since, null, 'marked with the batch but never called: not in doubt either');

    // The same batch again (a replay after a crash): the parked head holds its conversation; nothing is sent twice.
    refuse = () => null;
    await deliverBatch(deps, [...a, ...b], 4);
    assert.deepEqual(textsTo('+561'), ['+561 #0']);
    assert.deepEqual(textsTo('+562'), ['+562 #0', '+562 #1']);
  });

  it('notes each send whose provider id was recorded, for the status intake, and no other', async () => {
    const a = await conversation(3, '+601');
    deps.recentSends = new RecentSends();
    refuse = (text) => (text === '+601 #2' ? new ProviderError({ channel: 'whatsapp', code: '131026', message: 'unreachable', retriable: false, httpStatus: 400 }) : null);
    await deliverBatch(deps, a, 4);
    assert.equal(deps.recentSends.size, 2);
    for (const job of a.slice(0, 2)) {
      const d = (await stores.deliveries.getDelivery(job.delivery_id))!;
      assert.deepEqual(await deps.recentSends.find('whatsapp', d.provider_message_id!), { delivery_id: job.delivery_id, created_at: job.accepted_at, trace_id: 't' });
    }
  });

  it('fails a delivery the provider refuses for good and sends the next one of its conversation', async () => {
    const a = await conversation(3, '+571');
    refuse = (text) => (text === '+571 #1' ? new ProviderError({ channel: 'whatsapp', code: '131026', message: 'unreachable', retriable: false, httpStatus: 400 }) : null);
    await deliverBatch(deps, a, 4);
    assert.deepEqual(textsTo('+571'), ['+571 #0', '+571 #2']);
    assert.equal((await stores.deliveries.getDelivery(a[1]!.delivery_id))!.status, 'FAILED');
  });
});

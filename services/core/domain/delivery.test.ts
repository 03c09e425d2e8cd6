import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedHistoryEntry, awaitsProvider, firstHistoryEntry, newDelivery } from './delivery.ts';

const ids = { delivery_id: 'd1', message_id: 'm1', conversation_id: 'c1' };
const at = '2026-01-01T00:00:00.000Z';

test('a reachable recipient gets a SENT delivery with nothing from a provider yet', () => {
  const d = newDelivery({ recipient_id: 'u2', channel: 'whatsapp', address: '+15550001' }, ids, at);
  assert.equal(d.status, 'SENT');
  assert.equal(d.error, null);
  assert.equal(d.provider_message_id, null);
  assert.equal(d.address, '+15550001');
  assert.equal(awaitsProvider(d), true);
  assert.deepEqual(firstHistoryEntry(d), { status: 'SENT', at, recipient_id: 'u2', channel: 'whatsapp', delivery_id: 'd1' });
});

test('an unreachable recipient gets a FAILED delivery that says why, and it waits for no provider', () => {
  const failed = { code: 'no_identity', message: 'u3 has no whatsapp identity' };
  const d = newDelivery({ recipient_id: 'u3', channel: 'whatsapp', address: null, failed }, ids, at);
  assert.equal(d.status, 'FAILED');
  assert.deepEqual(d.error, failed);
  assert.equal(awaitsProvider(d), false);
  assert.deepEqual(firstHistoryEntry(d).error, failed);
});

test('internal deliveries and deliveries a provider accepted wait for no provider', () => {
  const internal = newDelivery({ recipient_id: 'u2', channel: 'internal', address: null }, ids, at);
  assert.equal(awaitsProvider(internal), false);
  assert.equal(awaitsProvider({ channel: 'instagram', status: 'SENT', provider_message_id: 'mid.1' }), false);
  assert.deepEqual(acceptedHistoryEntry({ created_at: at }), { status: 'SENT', at });
});

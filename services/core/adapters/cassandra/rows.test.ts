import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { long } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import type { Delivery, Message } from '../../domain/types.ts';
import type { DeadLetter } from '../../ports/dead-letter-store.ts';
import { idAt } from './keys.ts';
import {
  conversationRow,
  deadLetterRow,
  deliveryRow,
  historyRow,
  messageRow,
  toConversation,
  toDeadLetter,
  toDelivery,
  toMessage,
  toStoredHistory,
  toUser,
  toWebhook,
  toWebhookEvent,
  userRow,
  webhookEventRow,
  webhookRow,
} from './rows.ts';
import { num } from './values.ts';

describe('Cassandra rows and domain objects', () => {
  it('round-trips a message (JSON columns, null metadata, bigint seq)', () => {
    const m: Message = {
      message_id: 'm', conversation_id: 'c', sender_id: 's', payload: { type: 'file', file_id: 'f', caption: 'c' }, channels: ['all'],
      metadata: { k: [1, 'x'] }, created_at: '2030-01-01T00:00:00.000Z', seq: 7, body_hash: 'h', trace_id: 't',
    };
    const row = messageRow(m);
    assert.equal(typeof row.payload, 'string');
    assert.deepEqual(toMessage({ ...row, seq: long(7) }), m);
    assert.deepEqual(toMessage({ ...messageRow({ ...m, metadata: null, seq: null }), seq: null }), { ...m, metadata: null, seq: null });
  });

  it('round-trips a delivery (error as JSON, nulls kept)', () => {
    const d: Delivery = {
      delivery_id: 'd', message_id: 'm', conversation_id: 'c', recipient_id: 'r', channel: 'whatsapp', address: '+55', status: 'FAILED',
      provider_message_id: null, error: { code: 'x', message: 'y' }, updated_at: 'u', in_flight_since: null, next_attempt_at: '2030-01-01T00:00:00.000Z',
    };
    const row = deliveryRow({ ...d, ord: 2, at: 'a' });
    assert.equal(row.item, 'd');
    assert.deepEqual(toDelivery({ ...row, ord: long(2) }), d);
    assert.deepEqual(toDelivery(deliveryRow({ ...d, error: null, address: null, channel: 'internal', ord: 0, at: 'a' })), { ...d, error: null, address: null, channel: 'internal' });
  });

  it('round-trips history, users, conversations, dead letters, webhooks and events', () => {
    const h = { hid: idAt(Date.UTC(2030, 0, 1)) + 5, delivery_id: 'd', recipient_id: 'r', channel: 'instagram' as const, status: 'READ' as const, at: 'a', error: null };
    assert.deepEqual(toStoredHistory({ ...historyRow(h), ord: long(h.hid) }), h);

    const user = { user_id: 'u', username: 'ana', password_hash: 'p', email: null, role: 'admin' as const, created_at: 'c' };
    assert.deepEqual(toUser(userRow(user)), user);
    assert.deepEqual(toUser(userRow({ user_id: 'u', username: 'ana', password_hash: 'p', created_at: 'c' })).role, 'user');

    const c = { conversation_id: 'c', type: 'group' as const, members: ['a', 'b'], name: 'n', metadata: { topic: 'x' }, created_at: 'c' };
    assert.deepEqual(toConversation(conversationRow(c), ['a', 'b']), c);

    const letter: DeadLetter = {
      id: 'i', reason: 'r', topic: 't', partition: 3, offset: '42', key: 'k', value: 'v', headers: { a: 'b' },
      first_seen: 'f', status: 'open', updated_at: 'u',
    };
    assert.deepEqual(toDeadLetter(deadLetterRow(letter)), letter);

    const w = { webhook_id: 'w', owner_id: 'o', url: 'https://x', events: ['a', 'b'], secret: 's', created_at: 'c', start_after: 123456 };
    assert.deepEqual(toWebhook({ ...webhookRow(w), start_after: long(w.start_after) }), w);

    const e = {
      event_id: 'e', webhook_id: 'w', type: 'message.read', message_id: 'm', seq: 99, body: '{}', created_at: 'c', status: 'pending' as const,
      attempts: 2, next_attempt_at: 1_900_000_000_000, deadline: 1_900_000_100_000, lease_until: null, attempt_ids: [5, 6],
    };
    const row = webhookEventRow(e);
    assert.equal(row.lease_until, 0, 'no lease is 0, so one condition takes a lease');
    assert.deepEqual(toWebhookEvent({ ...row, seq: long(99), next_attempt_at: long(e.next_attempt_at), deadline: long(e.deadline), lease_until: long(0) }), e);
    assert.equal(toWebhookEvent(webhookEventRow({ ...e, lease_until: 17 })).lease_until, 17);
  });

  it('reads driver numbers of every kind', () => {
    assert.equal(num(long(2 ** 40)), 2 ** 40);
    assert.equal(num(5n), 5);
    assert.equal(num(3), 3);
    assert.equal(num(null), null);
    assert.equal(num(undefined), null);
  });
});

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { HistoryRecord, Webhook } from '../core/ports/webhook-store.ts';
import { eventsFor, receivedEventsFor } from './events.ts';

const entry = (over: Partial<HistoryRecord> = {}): HistoryRecord => ({
  id: 10, message_id: 'm1', conversation_id: 'c1', sender_id: 'contact-1', delivery_id: 'd1', recipient_id: 'alice',
  channel: 'internal', status: 'SENT', at: '2026-12-03T10:00:00.000Z', error: null, ...over,
});
const hook = (over: Partial<Webhook> = {}): Webhook => ({
  webhook_id: 'wh1', owner_id: 'alice', url: 'https://example.test/h', events: ['message.received'], secret: 's', created_at: '2026-12-01T00:00:00Z', start_after: 0, ...over,
});
const schedule = { created_at: '2026-12-03T10:00:01.000Z', now: 1, deadline: 2 };

it('message.received: one event per message for the recipient, from its in-app delivery, naming the sender', () => {
  const [event] = receivedEventsFor(entry(), [hook()], schedule);
  assert.equal(event?.type, 'message.received');
  assert.deepEqual(JSON.parse(event!.body), {
    event_id: event!.event_id, type: 'message.received', webhook_id: 'wh1', occurred_at: '2026-12-03T10:00:00.000Z',
    message_id: 'm1', conversation_id: 'c1', status: 'SENT', recipient_id: 'alice', channel: 'internal', sender_id: 'contact-1',
  });
  assert.equal(receivedEventsFor(entry({ id: 11, delivery_id: 'd2' }), [hook()], schedule)[0]?.event_id, event!.event_id, 'the same message gives the same event id');
  assert.deepEqual(receivedEventsFor(entry({ channel: 'whatsapp' }), [hook()], schedule), [], 'not from external deliveries');
  assert.deepEqual(receivedEventsFor(entry({ status: 'DELIVERED' }), [hook()], schedule), [], 'not from later statuses');
  assert.deepEqual(receivedEventsFor(entry(), [hook({ owner_id: 'bob' })], schedule), [], 'only the recipient’s webhooks');
  assert.deepEqual(receivedEventsFor(entry(), [hook({ events: ['message.delivered'] })], schedule), [], 'only when subscribed');
  assert.deepEqual(receivedEventsFor(entry(), [hook({ start_after: 10 })], schedule), [], 'only entries after the webhook was made');
  assert.deepEqual(eventsFor(entry(), [hook()], schedule), [], 'the recipient gets no status events of a message it did not send');
});

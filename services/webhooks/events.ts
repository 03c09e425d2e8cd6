import { createHash } from 'node:crypto';
import type { HistoryRecord, NewWebhookEvent, Webhook } from '../core/ports/webhook-store.ts';

/**
 * The event types a webhook can subscribe to: one per delivery transition of the messages its
 * owner sent (a delivery is one recipient on one channel, so a message to two recipients on two
 * channels gives up to four `message.delivered` events), and `message.received`, once per message
 * its owner receives in the app (from another user, or from WhatsApp or Instagram).
 */
export const WEBHOOK_EVENT_TYPES = ['message.sent', 'message.delivered', 'message.read', 'message.failed', 'message.received'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const TYPE_OF_STATUS: Record<HistoryRecord['status'], Exclude<WebhookEventType, 'message.received'>> = {
  SENT: 'message.sent',
  DELIVERED: 'message.delivered',
  READ: 'message.read',
  FAILED: 'message.failed',
};

/** The JSON body of every callback (documented in docs/webhooks.md). */
export interface WebhookEventBody {
  /** The event id, also in the `Chat4All-Webhook-Id` header; the same on every retry. */
  event_id: string;
  type: WebhookEventType;
  webhook_id: string;
  /** When the status changed (RFC 3339 UTC). */
  occurred_at: string;
  message_id: string;
  conversation_id: string;
  /** The delivery's new status. */
  status: HistoryRecord['status'];
  recipient_id: string | null;
  channel: string | null;
  /** Why the delivery failed (`message.failed` only). */
  error?: { code: string; message: string };
  /** Who sent the message (`message.received` only): a user id or a contact id. */
  sender_id?: string;
}

/**
 * A stable event id for one (webhook, history entry): a dispatcher that creates the same event
 * twice (after a crash, or two dispatchers at once) makes the same id, which the store ignores.
 */
export function webhookEventId(webhookId: string, historyId: number): string {
  return `evt_${createHash('sha256').update(`${webhookId}/${historyId}`).digest('hex').slice(0, 32)}`;
}

type Schedule = { created_at: string; now: number; deadline: number };

/** One new event of `type` about `entry` for webhook `w`, its body with `extra` members. */
function newEvent(w: Webhook, entry: HistoryRecord, type: WebhookEventType, event_id: string, schedule: Schedule, extra: Partial<WebhookEventBody> = {}): NewWebhookEvent {
  const body: WebhookEventBody = {
    event_id,
    type,
    webhook_id: w.webhook_id,
    occurred_at: entry.at,
    message_id: entry.message_id,
    conversation_id: entry.conversation_id,
    status: entry.status,
    recipient_id: entry.recipient_id,
    channel: entry.channel,
    ...extra,
  };
  return {
    event_id,
    webhook_id: w.webhook_id,
    type,
    message_id: entry.message_id,
    seq: entry.id,
    body: JSON.stringify(body),
    created_at: schedule.created_at,
    next_attempt_at: schedule.now,
    deadline: schedule.deadline,
  };
}

/**
 * The events one history entry makes for the sender's webhooks: one per webhook that subscribes
 * to its type and was created before the entry.
 */
export function eventsFor(entry: HistoryRecord, webhooks: Webhook[], schedule: Schedule): NewWebhookEvent[] {
  const type = TYPE_OF_STATUS[entry.status];
  const extra = entry.status === 'FAILED' && entry.error ? { error: { code: entry.error.code, message: entry.error.message } } : {};
  return webhooks
    .filter((w) => w.owner_id === entry.sender_id && w.start_after < entry.id && w.events.includes(type))
    .map((w) => newEvent(w, entry, type, webhookEventId(w.webhook_id, entry.id), schedule, extra));
}

/**
 * The `message.received` events one history entry makes for the recipient's webhooks: made from
 * the first entry (SENT) of the recipient's in-app delivery, which every message the recipient
 * can read in the app has, so there is one per message and recipient. Its id is derived from the
 * webhook and the message: a dispatcher that makes it twice makes the same event.
 */
export function receivedEventsFor(entry: HistoryRecord, webhooks: Webhook[], schedule: Schedule): NewWebhookEvent[] {
  if (entry.status !== 'SENT' || entry.channel !== 'internal' || entry.recipient_id === null || entry.recipient_id === entry.sender_id) return [];
  const type: WebhookEventType = 'message.received';
  return webhooks
    .filter((w) => w.owner_id === entry.recipient_id && w.start_after < entry.id && w.events.includes(type))
    .map((w) => {
      const event_id = `evt_${createHash('sha256').update(`${w.webhook_id}/received/${entry.message_id}`).digest('hex').slice(0, 32)}`;
      return newEvent(w, entry, type, event_id, schedule, { sender_id: entry.sender_id });
    });
}

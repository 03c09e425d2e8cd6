import type { Delivery, Message, StatusEvent } from '../core/domain/types.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Logger } from '../core/logger.ts';
import { publishStatusChanged } from '../core/publish-realtime.ts';
import { conflict, notFound } from '../core/errors.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { Principal } from './auth.ts';
import { conversationFor } from './conversations.ts';
import { messageJson } from './views.ts';
import { describeSenders, type ParticipantDeps } from './participants.ts';
import type { ApiMetrics } from './metrics.ts';

export interface MessageQueryDeps extends ParticipantDeps {
  conversations: ConversationStore;
  messages: MessageStore;
  deliveries: DeliveryStore;
  clock: Clock;
  /** Where the realtime records of statuses applied here go (the push gateways read them). */
  bus: Bus;
  logger: Logger;
  /** Where accept → delivered times of internal deliveries are recorded, when given. */
  metrics?: Pick<ApiMetrics, 'deliveryLatency'>;
}

/** The message if the caller is a member of its conversation; a missing one and a foreign one look the same (404). */
async function visibleMessage(deps: MessageQueryDeps, caller: Principal, messageId: string): Promise<{ message: Message; members: string[] }> {
  const m = await deps.messages.getMessage(messageId);
  const c = m ? await deps.conversations.getConversation(m.conversation_id) : null;
  if (!m || !c || !c.members.includes(caller.sub)) throw notFound('message');
  return { message: m, members: c.members };
}

/**
 * Applies a status the API itself observed (a fetch, a read) and, when it changed something,
 * tells the push gateways, as the router does for the gateway's `ack`/`read`: the sender's
 * devices see ✓✓ whichever way the recipient read. The store write is the truth and stays
 * forward-only; the realtime record after it is best effort (a lost one shows on the next fetch).
 */
async function applyAndTell(deps: MessageQueryDeps, event: StatusEvent, members: string[]): Promise<{ applied: boolean; delivery: Delivery | null }> {
  const result = await deps.deliveries.applyStatus(event);
  if (result.applied && result.delivery) {
    await publishStatusChanged(deps, result.delivery, event, members).catch((err) =>
      deps.logger.warn({ err, delivery_id: event.delivery_id }, 'could not publish the realtime record of a status'),
    );
  }
  return result;
}

/** A message with its deliveries, status and full history. */
export async function getMessage(deps: MessageQueryDeps, caller: Principal, messageId: string) {
  const { message: m } = await visibleMessage(deps, caller, messageId);
  const [deliveries, history, senders] = await Promise.all([
    deps.deliveries.listDeliveries(m.message_id),
    deps.messages.history(m.message_id),
    describeSenders(deps, [m.sender_id]),
  ]);
  return messageJson(m, deliveries, history, senders.get(m.sender_id));
}

/**
 * A page of a conversation's routed messages in `seq` order. Fetching is how our own clients
 * receive messages, so the caller's `internal` deliveries of the returned messages that are still
 * SENT become DELIVERED (the store keeps that forward-only).
 */
export async function listConversationMessages(
  deps: MessageQueryDeps,
  caller: Principal,
  conversationId: string,
  page: { limit: number; after_seq: number },
) {
  const conversation = await conversationFor(deps, caller, conversationId);
  const rows = await deps.messages.listMessages(conversationId, page.after_seq, page.limit + 1);
  const has_more = rows.length > page.limit;
  const messages = rows.slice(0, page.limit);

  const at = isoAt(deps.clock.now());
  const mine = await deps.deliveries.deliveriesFor(
    caller.sub,
    messages.map((m) => m.message_id),
  );
  const acceptedAt = new Map(messages.map((m) => [m.message_id, m.created_at]));
  for (const d of mine) {
    if (d.channel === 'internal' && d.status === 'SENT') {
      const { applied } = await applyAndTell(deps, { delivery_id: d.delivery_id, status: 'DELIVERED', at, source: 'api' }, conversation.members);
      const accepted = acceptedAt.get(d.message_id);
      if (applied && accepted) deps.metrics?.deliveryLatency.observe({ channel: 'internal' }, Math.max(0, Date.parse(at) - Date.parse(accepted)) / 1000);
    }
  }

  // Every delivery of the page in one store call (read after the marks above, so they show).
  const byMessage = new Map<string, Delivery[]>();
  for (const d of await deps.deliveries.listDeliveriesOfMessages(messages.map((m) => m.message_id))) {
    const list = byMessage.get(d.message_id);
    if (list) list.push(d);
    else byMessage.set(d.message_id, [d]);
  }
  const senders = await describeSenders(deps, messages.map((m) => m.sender_id));
  return {
    messages: messages.map((m) => messageJson(m, byMessage.get(m.message_id) ?? [], undefined, senders.get(m.sender_id))),
    next_after_seq: messages.length > 0 ? messages[messages.length - 1]!.seq! : page.after_seq,
    has_more,
  };
}

/**
 * Marks every delivery of the message to the caller READ. Repeating is harmless: the store only
 * records real transitions. The sender is not a recipient of its own message: 409.
 */
export async function markRead(deps: MessageQueryDeps, caller: Principal, messageId: string) {
  const { message: m, members } = await visibleMessage(deps, caller, messageId);
  if (m.sender_id === caller.sub) throw conflict('the sender cannot mark its own message read');
  const at = isoAt(deps.clock.now());
  for (const d of await deps.deliveries.deliveriesFor(caller.sub, [m.message_id])) {
    if (d.status !== 'READ' && d.status !== 'FAILED') {
      await applyAndTell(deps, { delivery_id: d.delivery_id, status: 'READ', at, source: 'api' }, members);
    }
  }
  return getMessage(deps, caller, messageId);
}

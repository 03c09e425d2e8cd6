import type { Message } from '../core/domain/types.ts';
import type { MessageCreatedEvent, MessageStatusEvent, TypingEvent } from '../core/realtime-events.ts';
import type { PresenceState } from './presence-view.ts';

/** A frame ready to write: its JSON, and what the sender needs to know about it. */
export interface Outgoing {
  type: string;
  data: string;
  /** The conversation's seq of a `message.created` frame: the seam's dedup and gap rules use it. */
  seq?: number;
  /** When the router published it (ms since epoch), for the push latency. */
  routedAt?: number;
  /** The recipient's in-app delivery of a `message.created` frame, so an `ack` finds it without a store read. */
  delivery?: { message_id: string; delivery_id: string; conversation_id: string };
}

const out = (frame: Record<string, unknown> & { type: string }, extra: Omit<Outgoing, 'type' | 'data'> = {}): Outgoing => ({
  type: frame.type,
  data: JSON.stringify({ v: 1, ...frame }),
  ...extra,
});

/** `message.created` for one recipient (delivery_id absent for the sender's own messages). */
export function messageCreatedFrame(m: Pick<MessageCreatedEvent, 'conversation_id' | 'message_id' | 'seq' | 'sender_id' | 'payload' | 'created_at'>, deliveryId: string | null, routedAt?: number): Outgoing {
  return out(
    {
      type: 'message.created',
      conversation_id: m.conversation_id,
      message_id: m.message_id,
      seq: m.seq,
      sender_id: m.sender_id,
      payload: m.payload,
      created_at: m.created_at,
      ...(deliveryId ? { delivery_id: deliveryId } : {}),
    },
    { seq: m.seq, routedAt, delivery: deliveryId ? { message_id: m.message_id, delivery_id: deliveryId, conversation_id: m.conversation_id } : undefined },
  );
}

/** `message.created` of a stored message (a replay). */
export function storedMessageFrame(m: Message, deliveryId: string | null): Outgoing {
  return messageCreatedFrame({ ...m, seq: m.seq ?? 0 }, deliveryId);
}

export function messageStatusFrame(e: MessageStatusEvent): Outgoing {
  const { conversation_id, message_id, recipient_id, channel, status, at } = e;
  return out({ type: 'message.status', conversation_id, message_id, recipient_id, channel, status, at }, { routedAt: e.routed_at });
}

export function typingFrame(e: TypingEvent): Outgoing {
  return out({ type: 'typing', conversation_id: e.conversation_id, user_id: e.user_id }, { routedAt: e.routed_at });
}

export function presenceFrame(s: PresenceState): Outgoing {
  return out({ type: 'presence', user_id: s.user_id, online: s.online, last_seen: s.last_seen });
}

export const readyFrame = (userId: string, connectionId: string) => out({ type: 'ready', user_id: userId, connection_id: connectionId });
export const pongFrame = () => out({ type: 'pong' });
export const errorFrame = (code: string, detail: string) => out({ type: 'error', code, detail });
export const resumedFrame = (conversations: Record<string, { seq: number; recovered: boolean }>) => out({ type: 'resumed', conversations });

import { summarizeStatus } from '../core/domain/status.ts';
import type { Contact, Conversation, Delivery, HistoryEntry, Identity, Message } from '../core/domain/types.ts';
import { inboundOrigin } from '../core/inbound/inbound-origin.ts';
import type { z } from 'zod';
import type { IdentityChallenge } from '../core/ports/user-store.ts';
import type { conversationView, deliveryView, historyView, identityView, messageView } from './schemas.ts';

/** How resources leave the API: only the public fields, optional ones omitted rather than null. */

/** An active identity. */
export function identityJson(i: Identity): z.infer<typeof identityView> {
  return { channel: i.channel, address: i.address, linked_at: i.linked_at, verified: true };
}

/** A link waiting for its one-time code (never the code or its hash). */
export function pendingIdentityJson(c: IdentityChallenge): z.infer<typeof identityView> {
  return { channel: c.channel, address: c.address, linked_at: c.created_at, verified: false, expires_at: c.expires_at };
}

/** A conversation; `contacts` describes the members that are contacts (people on WhatsApp or Instagram without an account). */
export function conversationJson(c: Conversation, contacts: Contact[] = []): z.infer<typeof conversationView> {
  const members = new Set(c.members);
  return {
    conversation_id: c.conversation_id,
    type: c.type,
    members: c.members,
    contacts: contacts
      .filter((k) => members.has(k.contact_id))
      .map((k) => ({ contact_id: k.contact_id, channel: k.channel, address: k.address, display_name: k.display_name })),
    name: c.name,
    metadata: c.metadata,
    created_at: c.created_at,
  };
}

/** Who sent a message, as a message view shows it. */
export interface SenderInfo {
  kind: 'user' | 'contact';
  /** The user's username, or the contact's profile name (a merged contact: its user's username). */
  name: string | null;
  /** For a contact merged into a user: that user. */
  merged_into?: string;
}

export function deliveryJson(d: Delivery): z.infer<typeof deliveryView> {
  const out: z.infer<typeof deliveryView> = { recipient_id: d.recipient_id, channel: d.channel, status: d.status, updated_at: d.updated_at };
  if (d.provider_message_id) out.provider_message_id = d.provider_message_id;
  if (d.error) out.error = d.error;
  return out;
}

export function historyJson(h: HistoryEntry): z.infer<typeof historyView> {
  const out: z.infer<typeof historyView> = { status: h.status, at: h.at };
  if (h.recipient_id) out.recipient_id = h.recipient_id;
  if (h.channel) out.channel = h.channel;
  if (h.error) out.error = h.error;
  return out;
}

/** A message with its deliveries and summarised status; `history` only when given. */
export function messageJson(m: Message, deliveries: Delivery[], history?: HistoryEntry[], sender?: SenderInfo): z.infer<typeof messageView> {
  const origin = inboundOrigin(m);
  const out: z.infer<typeof messageView> = {
    message_id: m.message_id,
    conversation_id: m.conversation_id,
    seq: m.seq,
    sender_id: m.sender_id,
    sender_kind: sender?.kind ?? 'user',
    sender_name: sender?.name ?? null,
    payload: m.payload,
    channels: m.channels,
    metadata: m.metadata,
    created_at: m.created_at,
    status: summarizeStatus(deliveries),
    deliveries: deliveries.map(deliveryJson),
  };
  if (sender?.merged_into) out.sender_merged_into = sender.merged_into;
  if (origin) {
    out.inbound_channel = origin.channel;
    out.provider_timestamp = origin.provider_timestamp;
  }
  if (history) out.history = history.map(historyJson);
  return out;
}

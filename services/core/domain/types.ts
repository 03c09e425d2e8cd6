import type { InboundOnlyPayload } from './inbound-payload.ts';

/** The channels a message can be delivered on. `internal` is our own push channel. */
export const EXTERNAL_CHANNELS = ['whatsapp', 'instagram'] as const;
export const CHANNELS = ['internal', ...EXTERNAL_CHANNELS] as const;
export type Channel = (typeof CHANNELS)[number];
export type ExternalChannel = (typeof EXTERNAL_CHANNELS)[number];

export const DELIVERY_STATUSES = ['SENT', 'DELIVERED', 'READ', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** What a client may send through the API. */
export type SendablePayload =
  | { type: 'text'; text: string }
  | { type: 'file'; file_id: string; caption?: string };

/** What a message says: what a client sends, or what only an external user can (`inbound-payload.ts`). */
export type Payload = SendablePayload | InboundOnlyPayload;

export interface User {
  user_id: string;
  username: string;
  email?: string | null;
  role: 'user' | 'admin';
  created_at: string;
}

export interface Identity {
  user_id: string;
  channel: ExternalChannel;
  address: string;
  linked_at: string;
}

/**
 * Someone who wrote to us on WhatsApp or Instagram from an address no user holds: a conversation
 * participant with no password (it cannot log in) and that one address, named from the provider's
 * profile. Its id stands in member lists and as the sender of its messages like a user id. Once a
 * user verifies the address, the contact is merged into that user (`merged_into`): the user takes
 * its place in its conversations and its messages keep the contact's id as sender.
 */
export interface Contact {
  contact_id: string;
  channel: ExternalChannel;
  address: string;
  /** The name the provider's profile gave (WhatsApp `profile.name`); null when it gave none. */
  display_name: string | null;
  created_at: string;
  /** The user this contact became once that user verified its address; null while it is a contact. */
  merged_into: string | null;
  merged_at: string | null;
}

export interface Conversation {
  conversation_id: string;
  type: 'private' | 'group';
  members: string[];
  name: string | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
}

/** A message as accepted by the API; `seq` is set once a router has ordered it. */
export interface Message {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  payload: Payload;
  /** The channels the sender asked for, as sent (`["all"]` stays `["all"]`). */
  channels: string[];
  metadata: Record<string, unknown> | null;
  created_at: string;
  seq: number | null;
  /** Fingerprint of the request body, to tell a retry (same body) from a conflict. */
  body_hash: string;
  trace_id: string;
}

export interface DeliveryError {
  code: string;
  message: string;
}

export interface Delivery {
  delivery_id: string;
  message_id: string;
  conversation_id: string;
  recipient_id: string;
  channel: Channel;
  /** The external address (phone number, IGSID) the delivery goes to; null for internal. */
  address: string | null;
  status: DeliveryStatus;
  provider_message_id: string | null;
  error: DeliveryError | null;
  updated_at: string;
  /**
   * Set while a provider call is under way and its outcome unknown (the answer may be lost in a
   * crash); cleared once the provider answered either way.
   */
  in_flight_since: string | null;
  /** Set while the delivery waits for its provider (store-and-forward): when to try again. */
  next_attempt_at: string | null;
}

export interface HistoryEntry {
  status: DeliveryStatus;
  at: string;
  recipient_id?: string;
  channel?: Channel;
  delivery_id?: string;
  error?: DeliveryError;
  /** Set on an entry that notes a fallback (not a status change): what went out instead. */
  fallback?: DeliveryFallback['fallback'];
  /** Why the fallback, with `fallback`. */
  reason?: DeliveryFallback['reason'];
}

/**
 * A delivery that went out in another form than asked: a file over the channel's media limit
 * went as a text with the caption and a download link. Noted in the message's history.
 */
export interface DeliveryFallback {
  /** `link`: a text with a download link instead of the media. */
  fallback: 'link';
  /** `over_channel_limit`: the file is larger than the channel takes for its kind of media. */
  reason: 'over_channel_limit';
}

/** A status change reported for one delivery (by a connector, the API or a timer). */
export interface StatusEvent {
  delivery_id: string;
  status: DeliveryStatus;
  at: string;
  error?: DeliveryError;
  /** Who reported it: `provider`, `api`, `connector`. */
  source: string;
}

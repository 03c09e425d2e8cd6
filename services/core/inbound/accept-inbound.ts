import { createHash } from 'node:crypto';
import type { ExternalChannel, Payload, User } from '../domain/types.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { UserStore } from '../ports/user-store.ts';
import { isoAt } from '../ports/clock.ts';
import { publishAccepted, type PublishAcceptedDeps } from '../publish-accepted.ts';
import type { Clock } from '../ports/clock.ts';
import { derivedId } from './derived-id.ts';

/** One message a person sent us on WhatsApp or Instagram, as a connector parsed it from the provider's webhook. */
export interface InboundMessage {
  channel: ExternalChannel;
  /** The provider address it came from (WhatsApp `wa_id`, Instagram IGSID). */
  from: string;
  /** Our number id / account id it was sent to. */
  to?: string;
  /** The sender's profile name as the provider gives it (WhatsApp `contacts[].profile.name`). */
  profile_name?: string;
  /** The provider's id of the message (`wamid…`, `mid…`): the message id is derived from it. */
  provider_message_id: string;
  /** RFC 3339 time the provider says the message was sent. */
  provider_timestamp: string;
  payload: Payload;
  trace_id?: string;
}

/** What accepting an inbound message made. */
export interface InboundResult {
  message_id: string;
  conversation_id: string;
  /** The user or contact the message is from. */
  sender_id: string;
  /** False when this provider message was accepted before (a retry or a duplicate webhook). */
  created: boolean;
}

/** The owners an inbound message goes to when no recent conversation claims it: usernames per channel. */
export type InboundDefaultMembers = Partial<Record<ExternalChannel, string[]>>;

/** The ports inbound acceptance touches. */
export interface AcceptInboundDeps extends PublishAcceptedDeps {
  users: UserStore;
  conversations: ConversationStore;
  messages: MessageStore;
  clock: Clock;
  /** `INBOUND_DEFAULT_MEMBERS`: who receives a message from an address with no recent conversation. */
  defaultMembers: InboundDefaultMembers;
}

/** The message id of a provider message: the same provider message always makes the same message. */
export const inboundMessageId = (channel: ExternalChannel, providerMessageId: string) => derivedId('inbound-message', channel, providerMessageId);

/**
 * Accepts a message that arrived from WhatsApp or Instagram: finds who sent it (the user the
 * address is linked to, or a contact made for that address), chooses its conversation, stores it
 * durably (the store is the outbox) and hands it to the routers like a message sent through the
 * API. Resolves only once the message is durable; rejects when the store fails, so the webhook
 * answers 5xx and the provider retries. Idempotent: the message id is derived from
 * (channel, provider_message_id), so a retried or duplicated webhook makes one message.
 */
export async function acceptInbound(deps: AcceptInboundDeps, m: InboundMessage): Promise<InboundResult> {
  const message_id = inboundMessageId(m.channel, m.provider_message_id);
  const known = await deps.messages.getMessage(message_id);
  if (known) {
    await publishAccepted(deps, known);
    return { message_id, conversation_id: known.conversation_id, sender_id: known.sender_id, created: false };
  }
  const now = isoAt(deps.clock.now());
  const sender = await resolveSender(deps, m, now);
  const conversation_id = await resolveConversation(deps, m, sender.user_id, now);
  const { message, created } = await deps.messages.acceptMessage({
    message_id,
    conversation_id,
    sender_id: sender.user_id,
    payload: m.payload,
    channels: ['all'],
    metadata: { inbound: { channel: m.channel, from: m.from, to: m.to ?? null, provider_message_id: m.provider_message_id, provider_timestamp: m.provider_timestamp } },
    body_hash: createHash('sha256').update(JSON.stringify(m.payload)).digest('hex'),
    trace_id: m.trace_id ?? message_id,
    created_at: now,
  });
  if (created) deps.logger.info({ message_id, conversation_id, channel: m.channel, trace_id: message.trace_id }, 'inbound message accepted');
  await publishAccepted(deps, message);
  return { message_id, conversation_id: message.conversation_id, sender_id: message.sender_id, created };
}

async function resolveSender(deps: AcceptInboundDeps, m: InboundMessage, now: string): Promise<User> {
  const identity = await deps.users.findIdentity(m.channel, m.from);
  if (identity) return (await deps.users.getUser(identity.user_id))!;
  const user_id = derivedId('contact', m.channel, m.from);
  const existing = await deps.users.getUser(user_id);
  if (existing) return existing;
  const user = await deps.users.createUser({ user_id, username: `${m.channel}:${m.from}`, password_hash: '', created_at: now });
  await deps.users.linkIdentity({ user_id, channel: m.channel, address: m.from, linked_at: now });
  return user;
}

async function resolveConversation(deps: AcceptInboundDeps, m: InboundMessage, senderId: string, now: string): Promise<string> {
  const conversation_id = derivedId('inbound-conversation', m.channel, m.from);
  if (await deps.conversations.getConversation(conversation_id)) return conversation_id;
  const owners: string[] = [];
  for (const username of deps.defaultMembers[m.channel] ?? []) {
    const owner = await deps.users.findUserByName(username);
    if (owner && owner.user_id !== senderId) owners.push(owner.user_id);
    else if (!owner) deps.logger.warn({ username, channel: m.channel }, 'INBOUND_DEFAULT_MEMBERS names a user that does not exist');
  }
  await deps.conversations
    .createConversation({ conversation_id, type: owners.length > 1 ? 'group' : 'private', members: [senderId, ...owners], name: null, metadata: null, created_at: now })
    .catch(async (err: unknown) => {
      // Another replica made it first.
      if (!(await deps.conversations.getConversation(conversation_id))) throw err;
    });
  return conversation_id;
}

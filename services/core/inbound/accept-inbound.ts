import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Contact, ExternalChannel, Payload } from '../domain/types.ts';
import { AppError } from '../errors.ts';
import type { ContactStore } from '../ports/contact-store.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { DeliveryStore } from '../ports/delivery-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { UserStore } from '../ports/user-store.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import { publishAccepted, type PublishAcceptedDeps } from '../publish-accepted.ts';
import type { InboundDefaultMembers } from './default-members.ts';
import { derivedId } from './derived-id.ts';
import { mergeContact } from './merge-contact.ts';
import type { InboundOrigin } from './inbound-origin.ts';

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

/** How inbound messages find their conversation (from the config: `inboundSettings`). */
export interface InboundSettings {
  /** `INBOUND_DEFAULT_MEMBERS`: who receives a message from an address with no conversation in its reply window. */
  defaultMembers: InboundDefaultMembers;
  /** `INBOUND_REPLY_WINDOW_HOURS` in ms: how long after a delivery to an address its reply goes to that delivery's conversation. */
  replyWindowMs: number;
}

/** The inbound settings of a config. */
export function inboundSettings(config: Pick<Config, 'inboundDefaultMembers' | 'inboundReplyWindowHours'>): InboundSettings {
  return { defaultMembers: config.inboundDefaultMembers, replyWindowMs: config.inboundReplyWindowHours * 3_600_000 };
}

/** The ports inbound acceptance touches. */
export interface AcceptInboundDeps extends PublishAcceptedDeps {
  users: UserStore;
  contacts: ContactStore;
  conversations: ConversationStore;
  messages: MessageStore;
  deliveries: Pick<DeliveryStore, 'lastReplyTarget'>;
  clock: Clock;
  settings: InboundSettings;
  /**
   * Turns a provider media into a platform file once the sender and the conversation are known
   * (the connectors' inbound media storer): answers the payload to store, a `file` payload or the
   * media kept as it was. Rejects (retriable) to have the provider deliver the webhook again.
   * Without it, media stays a provider reference.
   */
  storeMedia?: (m: InboundMessage, owner: { sender_id: string; conversation_id: string }) => Promise<Payload>;
}

/** Who an inbound message is from. */
interface Sender {
  id: string;
  kind: 'user' | 'contact';
}

/** The message id of a provider message: the same provider message always makes the same message. */
export const inboundMessageId = (channel: ExternalChannel, providerMessageId: string) => derivedId('inbound-message', channel, providerMessageId);

/**
 * The id of the n-th contact of an address (n counts contacts that became users who later let the
 * address go): derived, so parallel first messages from one address make the same contact.
 */
export const contactId = (channel: ExternalChannel, address: string, generation: number) => derivedId('contact', channel, address, String(generation));

/** Contacts of one address looked at at most: more means an address linked and unlinked over and over. */
const MAX_GENERATIONS = 64;

/**
 * Accepts a message that arrived from WhatsApp or Instagram: finds who sent it (the user the
 * address is linked to, or the contact of that address, made on its first message), chooses its
 * conversation (docs/adr/0002-inbound-conversation-rule.md), stores it durably (the store is the
 * outbox) and hands it to the routers like a message sent through the API. Resolves only once the
 * message is durable; rejects when the store fails, so the webhook answers 5xx and the provider
 * retries. Idempotent: the message id is derived from (channel, provider_message_id), so a
 * retried or duplicated webhook, in one process or two, makes one message.
 */
export async function acceptInbound(deps: AcceptInboundDeps, m: InboundMessage): Promise<InboundResult> {
  const message_id = inboundMessageId(m.channel, m.provider_message_id);
  const known = await deps.messages.getMessage(message_id);
  if (known) {
    await publishAccepted(deps, known);
    return { message_id, conversation_id: known.conversation_id, sender_id: known.sender_id, created: false };
  }
  const now = deps.clock.now();
  const sender = await resolveSender(deps, m, isoAt(now));
  const conversation_id = await resolveConversation(deps, m, sender, now);
  // Before the message: the file it names must exist (and be the conversation's) once it is stored.
  const payload = deps.storeMedia && m.payload.type === 'media' ? await deps.storeMedia(m, { sender_id: sender.id, conversation_id }) : m.payload;
  const origin: InboundOrigin = {
    channel: m.channel,
    from: m.from,
    to: m.to ?? null,
    profile_name: m.profile_name ?? null,
    provider_message_id: m.provider_message_id,
    provider_timestamp: m.provider_timestamp,
  };
  // The provider's reference stays known when the media became a platform file.
  if (m.payload.type === 'media' && payload.type === 'file') origin.provider_media = { ...m.payload.media };
  const { message, created } = await deps.messages.acceptMessage({
    message_id,
    conversation_id,
    sender_id: sender.id,
    payload,
    channels: ['all'],
    metadata: { inbound: origin },
    body_hash: createHash('sha256').update(JSON.stringify(payload)).digest('hex'),
    trace_id: m.trace_id ?? message_id,
    created_at: isoAt(now),
  });
  if (created) deps.logger.info({ message_id, conversation_id, channel: m.channel, sender_kind: sender.kind, trace_id: message.trace_id }, 'inbound message accepted');
  await publishAccepted(deps, message);
  return { message_id, conversation_id: message.conversation_id, sender_id: message.sender_id, created };
}

/**
 * The holder of the address, or a new contact for it. The address is claimed with the contact's
 * id through the identities (a conditional insert), so of two first messages at once one claims
 * it and both find the same contact; a user who links the address meanwhile wins, and the message
 * is that user's.
 */
async function resolveSender(deps: AcceptInboundDeps, m: InboundMessage, now: string): Promise<Sender> {
  let generation = 0;
  for (let attempt = 0; attempt < MAX_GENERATIONS; attempt++) {
    const holder = await deps.users.findIdentity(m.channel, m.from);
    if (holder) return participant(deps, holder.user_id, now, m.profile_name);
    const { contact } = await deps.contacts.createContact({
      contact_id: contactId(m.channel, m.from, generation),
      channel: m.channel,
      address: m.from,
      display_name: m.profile_name?.trim() || null,
      created_at: now,
    });
    // That contact became a user who has since let the address go: the address gets a new contact.
    if (contact.merged_into !== null) {
      generation++;
      continue;
    }
    try {
      await deps.users.linkIdentity({ user_id: contact.contact_id, channel: m.channel, address: m.from, linked_at: now });
      return { id: contact.contact_id, kind: 'contact' };
    } catch (err) {
      // Someone linked the address in between: the next round finds the holder.
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
    }
  }
  throw new AppError('unavailable', `${m.channel} address ${m.from}: could not settle who holds it; retry`, { status: 503, retriable: true });
}

/** The participant behind an address's holder: a contact merged into a user is that user (finishing the merge if it was cut short). */
async function participant(deps: AcceptInboundDeps, holderId: string, now: string, profileName?: string): Promise<Sender> {
  const contact = await deps.contacts.getContact(holderId);
  if (!contact) return { id: holderId, kind: 'user' };
  if (contact.merged_into === null) {
    // The provider's profile name is the contact's name: keep up with a rename (or a first name).
    const name = profileName?.trim();
    if (name && name !== contact.display_name) await deps.contacts.renameContact(contact.contact_id, name);
    return { id: contact.contact_id, kind: 'contact' };
  }
  await mergeContact(deps, contact, contact.merged_into, now);
  return { id: contact.merged_into, kind: 'user' };
}

/**
 * The conversation of an inbound message (docs/adr/0002-inbound-conversation-rule.md): the one
 * whose latest provider-accepted delivery went to this address within the reply window, if the
 * sender is still in it; otherwise the address's own conversation with the channel's default
 * members, made on first use and reused after.
 */
async function resolveConversation(deps: AcceptInboundDeps, m: InboundMessage, sender: Sender, now: number): Promise<string> {
  const target = await deps.deliveries.lastReplyTarget(m.channel, m.from);
  if (target && now - Date.parse(target.at) <= deps.settings.replyWindowMs) {
    const c = await deps.conversations.getConversation(target.conversation_id);
    if (c?.members.includes(sender.id)) return c.conversation_id;
  }
  return defaultConversation(deps, m, sender, now);
}

/**
 * The address's own conversation with the default members. Its id is derived from the channel,
 * the address and the participant the address began as (the contact a user was merged from, so
 * the merged user keeps the contact's conversation; a later holder of the address gets another).
 */
async function defaultConversation(deps: AcceptInboundDeps, m: InboundMessage, sender: Sender, now: number): Promise<string> {
  const root = sender.kind === 'contact' ? sender.id : await contactMergedInto(deps, m, sender.id);
  const conversation_id = derivedId('inbound-conversation', m.channel, m.from, root);
  const existing = await deps.conversations.getConversation(conversation_id);
  if (existing) {
    // A merge cut short before the user joined: join now.
    if (!existing.members.includes(sender.id)) await deps.conversations.addMember(conversation_id, sender.id, isoAt(now));
    return conversation_id;
  }
  const owners: string[] = [];
  for (const username of deps.settings.defaultMembers[m.channel] ?? []) {
    const owner = await deps.users.findUserByName(username);
    if (!owner) deps.logger.warn({ username, channel: m.channel }, 'INBOUND_DEFAULT_MEMBERS names a user that does not exist; left out');
    else if (owner.user_id !== sender.id) owners.push(owner.user_id);
  }
  if (owners.length === 0) deps.logger.warn({ channel: m.channel, conversation_id }, 'no default members for this channel: the inbound conversation has the sender alone until someone is added');
  const members = [sender.id, ...owners];
  try {
    await deps.conversations.createConversation({
      conversation_id,
      type: members.length > 2 ? 'group' : 'private',
      members,
      name: members.length > 2 ? `${m.profile_name?.trim() || m.from} (${m.channel})` : null,
      metadata: { inbound: { channel: m.channel, address: m.from } },
      created_at: isoAt(now),
    });
  } catch (err) {
    // Another message (or replica) made it first: use that one.
    if (!(await deps.conversations.getConversation(conversation_id))) throw err;
  }
  return conversation_id;
}

/** The contact of this address that was merged into the user, if there is one; else the user. */
async function contactMergedInto(deps: AcceptInboundDeps, m: InboundMessage, userId: string): Promise<string> {
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const c: Contact | null = await deps.contacts.getContact(contactId(m.channel, m.from, generation));
    if (!c) break;
    if (c.merged_into === userId) return c.contact_id;
  }
  return userId;
}

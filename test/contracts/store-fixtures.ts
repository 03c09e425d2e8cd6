import { beforeEach, afterEach } from 'node:test';
import { randomUUID } from 'node:crypto';
import type { Stores } from '../../services/core/ports/stores.ts';

/** Makes the stores one test runs on: fresh ones, or a shared backing store (a Cassandra keyspace). */
export type StoresFactory = () => Promise<Stores>;

export const now = () => new Date().toISOString();
export const later = (ms: number) => new Date(Date.now() + ms).toISOString();
export const id = () => randomUUID();

/**
 * Opens the stores before each test of the enclosing `describe` and closes them after it. The
 * backing store may be shared by all the tests of one run, so every test makes its own users,
 * conversations and addresses (the helpers below) and asserts only on those.
 */
export function eachTestStores(make: StoresFactory) {
  const ctx = { stores: null as unknown as Stores };
  beforeEach(async () => {
    ctx.stores = await make();
  });
  afterEach(async () => {
    await ctx.stores.close();
  });
  return ctx;
}

/** A new conversation of `members` new users. */
export async function conversation(stores: Stores, members = 2) {
  const users = Array.from({ length: members }, id);
  const conversation_id = id();
  await stores.conversations.createConversation({
    conversation_id, type: members > 2 ? 'group' : 'private', members: users, name: null, metadata: null, created_at: now(),
  });
  return { users, conversation_id };
}

/** Accepts a new text message; returns its id. */
export async function accept(stores: Stores, conversation_id: string, sender_id: string, text = 'hi') {
  const message_id = id();
  await stores.messages.acceptMessage({
    message_id, conversation_id, sender_id, payload: { type: 'text', text }, channels: ['all'],
    metadata: null, body_hash: `h-${text}`, trace_id: 't', created_at: now(),
  });
  return message_id;
}

/** A two-member conversation with one accepted message from `a`. */
export async function conversationWithMessage(stores: Stores) {
  const { users, conversation_id } = await conversation(stores);
  const [a, b] = users as [string, string];
  const message_id = await accept(stores, conversation_id, a);
  return { a, b, conversation_id, message_id };
}

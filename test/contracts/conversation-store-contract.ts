import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../services/core/errors.ts';
import { conversation, eachTestStores, id, now, type StoresFactory } from './store-fixtures.ts';

/** The ConversationStore contract: conversations and their members. */
export function conversationStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: conversations`, () => {
    const ctx = eachTestStores(make);

    it('keeps members in joining order and adds a member once', async () => {
      const { conversations } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores, 3);
      assert.deepEqual((await conversations.getConversation(conversation_id))?.members, users);
      assert.equal((await conversations.getConversation(conversation_id))?.type, 'group');
      const newcomer = id();
      await conversations.addMember(conversation_id, newcomer, now());
      const after = await conversations.addMember(conversation_id, newcomer, now());
      assert.deepEqual(after.members, [...users, newcomer]);
      assert.deepEqual((await conversations.listConversations(newcomer, { limit: 10 })).conversations.map((c) => c.conversation_id), [conversation_id]);
      await assert.rejects(conversations.addMember(id(), newcomer, now()), (e: unknown) => e instanceof AppError && e.status === 404);
      assert.equal(await conversations.getConversation(id()), null);
    });

    it('answers whether a user is a member', async () => {
      const { conversations } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores, 2);
      const [first, second] = users as [string, string];
      assert.equal(await conversations.isMember(conversation_id, first), true);
      assert.equal(await conversations.isMember(conversation_id, id()), false, 'someone else');
      assert.equal(await conversations.isMember(id(), first), false, 'an unknown conversation');
      await conversations.removeMember(conversation_id, second);
      assert.equal(await conversations.isMember(conversation_id, second), false, 'a removed member');
    });

    it('removes a member, keeps the conversation, and lets the user join again', async () => {
      const { conversations } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores, 3);
      const [, gone, stays] = users as [string, string, string];
      assert.equal(await conversations.removeMember(conversation_id, gone), true);
      assert.equal(await conversations.removeMember(conversation_id, gone), false, 'not a member any more');
      assert.deepEqual((await conversations.getConversation(conversation_id))?.members, users.filter((u) => u !== gone));
      assert.deepEqual((await conversations.listConversations(gone, { limit: 50 })).conversations, []);
      assert.deepEqual((await conversations.listConversations(stays, { limit: 50 })).conversations.map((c) => c.conversation_id), [conversation_id]);
      assert.equal(await conversations.removeMember(id(), gone), false, 'unknown conversation');
      const back = await conversations.addMember(conversation_id, gone, now());
      assert.ok(back.members.includes(gone));
      assert.deepEqual((await conversations.listConversations(gone, { limit: 50 })).conversations.map((c) => c.conversation_id), [conversation_id]);
    });
  });
}

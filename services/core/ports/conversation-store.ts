import type { Conversation } from '../domain/types.ts';

/** Conversations and their members. */
export interface ConversationStore {
  /** Stores a new conversation with its members. */
  createConversation(conversation: Conversation): Promise<Conversation>;
  /** The conversation by id; null when there is none. */
  getConversation(conversationId: string): Promise<Conversation | null>;
  /** The conversations a user is a member of. */
  listConversations(userId: string): Promise<Conversation[]>;
  /** Adds a member (no-op when already one) and returns the conversation. */
  addMember(conversationId: string, userId: string, at: string): Promise<Conversation>;
  /**
   * Removes a member (someone removed, or leaving). The conversation and its history stay; the
   * user no longer belongs to it (no new messages, no reading). Returns whether the user was a
   * member; false for an unknown conversation too.
   */
  removeMember(conversationId: string, userId: string): Promise<boolean>;
}

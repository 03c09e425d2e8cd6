import type { Conversation } from '../domain/types.ts';

/** Conversations and their members. */
export interface ConversationStore {
  /** Stores a new conversation with its members. */
  createConversation(conversation: Conversation): Promise<Conversation>;
  /** The conversation by id; null when there is none. */
  getConversation(conversationId: string): Promise<Conversation | null>;
  /**
   * Whether the user is a member of the conversation; false for an unknown conversation. The
   * check of every send: one key lookup instead of reading the conversation and all its members.
   */
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /**
   * One page of the conversations a user is a member of, in `conversation_id` order (stable while
   * conversations are added): up to `limit` with an id above `after` (from the start when absent),
   * and `next`, the `after` of the following page (null on the last page).
   */
  listConversations(userId: string, page: ConversationPage): Promise<{ conversations: Conversation[]; next: string | null }>;
  /**
   * Adds a member (no-op when already one) and returns the conversation. With `cap`, a group that
   * already has `cap.max` members is refused with `CapReached` (`too_many_members`), decided
   * atomically with the write: parallel adds at the limit never overshoot it.
   */
  addMember(conversationId: string, userId: string, at: string, cap?: { max: number }): Promise<Conversation>;
  /**
   * Removes a member (someone removed, or leaving). The conversation and its history stay; the
   * user no longer belongs to it (no new messages, no reading). Returns whether the user was a
   * member; false for an unknown conversation too.
   */
  removeMember(conversationId: string, userId: string): Promise<boolean>;
}

/** Which page of a user's conversations to read. */
export interface ConversationPage {
  /** Most conversations in the page (at least 1). */
  limit: number;
  /** The `conversation_id` the page starts after; the first page when absent. */
  after?: string;
}

import type { Conversation } from '../../domain/types.ts';
import { tooManyMembers } from '../../cap-reached.ts';
import { notFound } from '../../errors.ts';
import type { ConversationPage, ConversationStore } from '../../ports/conversation-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { jsonOrNull, toConversation, type Row } from './rows.ts';

/** Conversations and their members (in joining order) in the embedded SQLite store. */
export class SqliteConversationStore implements ConversationStore {
  private readonly stmt;

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      insertConversation: db.prepare(
        'INSERT INTO conversations (conversation_id, type, name, metadata, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertMember: db.prepare(
        `INSERT OR IGNORE INTO members (conversation_id, user_id, joined_at, pos)
         VALUES (?, ?, ?, (SELECT COALESCE(MAX(pos), 0) + 1 FROM members WHERE conversation_id = ?))`,
      ),
      deleteMember: db.prepare('DELETE FROM members WHERE conversation_id = ? AND user_id = ?'),
      conversation: db.prepare('SELECT * FROM conversations WHERE conversation_id = ?'),
      membersOf: db.prepare('SELECT user_id FROM members WHERE conversation_id = ? ORDER BY pos'),
      conversationsOf: db.prepare(
        'SELECT conversation_id FROM members WHERE user_id = ? AND conversation_id > ? ORDER BY conversation_id LIMIT ?',
      ),
      isMember: db.prepare('SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?'),
      memberCount: db.prepare('SELECT COUNT(*) AS n FROM members WHERE conversation_id = ?'),
    };
  }

  private read(id: string): Conversation | null {
    const r = this.stmt.conversation.get(id) as Row | undefined;
    if (!r) return null;
    return toConversation(r, (this.stmt.membersOf.all(id) as Row[]).map((m) => m.user_id as string));
  }

  async createConversation(c: Conversation): Promise<Conversation> {
    writeTransaction(this.db, () => {
      this.stmt.insertConversation.run(c.conversation_id, c.type, c.name, jsonOrNull(c.metadata), c.created_at);
      for (const m of c.members) this.stmt.insertMember.run(c.conversation_id, m, c.created_at, c.conversation_id);
    });
    return this.read(c.conversation_id)!;
  }

  async getConversation(id: string) {
    return this.read(id);
  }

  async isMember(conversationId: string, userId: string) {
    return this.stmt.isMember.get(conversationId, userId) !== undefined;
  }

  async listConversations(userId: string, page: ConversationPage) {
    // One row more than asked tells whether another page follows.
    const ids = (this.stmt.conversationsOf.all(userId, page.after ?? '', page.limit + 1) as Row[]).map((r) => r.conversation_id as string);
    const conversations = ids.slice(0, page.limit).map((id) => this.read(id)!);
    return { conversations, next: ids.length > page.limit ? conversations.at(-1)!.conversation_id : null };
  }

  async addMember(conversationId: string, userId: string, at: string, cap?: { max: number }) {
    // Count and insert under one write lock: another add (in this or another process) waits.
    writeTransaction(this.db, () => {
      if (!this.stmt.conversation.get(conversationId)) throw notFound('conversation');
      if (this.stmt.isMember.get(conversationId, userId)) return;
      const { n } = this.stmt.memberCount.get(conversationId) as { n: number };
      if (cap && n >= cap.max) throw tooManyMembers(conversationId, n, cap.max);
      this.stmt.insertMember.run(conversationId, userId, at, conversationId);
    });
    return this.read(conversationId)!;
  }

  async removeMember(conversationId: string, userId: string) {
    return this.stmt.deleteMember.run(conversationId, userId).changes > 0;
  }
}


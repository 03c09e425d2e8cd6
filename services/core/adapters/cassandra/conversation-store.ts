import type { Conversation } from '../../domain/types.ts';
import { tooManyMembers } from '../../cap-reached.ts';
import { conflict, notFound, unavailable } from '../../errors.ts';
import type { ConversationPage, ConversationStore } from '../../ports/conversation-store.ts';
import type { CapScope } from './cap-slots.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { CAS_ATTEMPTS } from './keys.ts';
import { conversationRow, toConversation } from './rows.ts';
import { CQL } from './statements.ts';
import { cmp, num } from './values.ts';

/**
 * Conversations on Cassandra: the conversation row, its members (written only with `IF NOT
 * EXISTS`, in join order by `pos`) and each member's list of conversations (a copy readers check).
 */
export class CassandraConversationStore implements ConversationStore {
  constructor(private readonly ctx: CassandraContext) {}

  async createConversation(c: Conversation): Promise<Conversation> {
    const { db } = this.ctx;
    const row = conversationRow(c);
    const created = await db.run(CQL.insertConversation, [row.conversation_id, row.conversation_type, row.name, row.metadata, row.created_at]);
    if (!created.wasApplied()) throw conflict(`conversation ${c.conversation_id} already exists`);
    const members = [...new Set(c.members)];
    await this.insertMembers(c.conversation_id, members, c.created_at);
    await eachLimited(members, PARALLEL, (m) => db.run(CQL.insertConversationByUser, [m, c.conversation_id]));
    return (await this.getConversation(c.conversation_id))!;
  }

  /**
   * The first members, in one conditional batch on the members' partition (whatever the group's
   * size: Cassandra does not size-check a single-partition batch). Members are written only with
   * IF NOT EXISTS; one that `addMember` wrote in the meantime keeps its row, the others are retried.
   */
  private async insertMembers(conversationId: string, members: string[], at: string) {
    const { db } = this.ctx;
    let missing = members;
    for (let attempt = 0; missing.length > 0; attempt++) {
      if (attempt === CAS_ATTEMPTS) throw unavailable(`conversation ${conversationId}: members are contended; retry`);
      const batch = missing.map((m) => ({ query: CQL.addMember, params: [conversationId, m, at, members.indexOf(m) + 1] }));
      if ((await db.batch(batch)).wasApplied()) return;
      const present = new Set((await db.rows(CQL.members, [conversationId], { serial: true })).map((r) => String(r.user_id)));
      missing = missing.filter((m) => !present.has(m));
    }
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const [r, members] = await Promise.all([this.ctx.db.run(CQL.conversation, [id]), this.ctx.db.rows(CQL.members, [id])]);
    const row = r.rows[0];
    if (!row) return null;
    const ordered = members
      .map((m) => ({ user: String(m.user_id), pos: num(m.pos) ?? 0 }))
      .sort((a, b) => a.pos - b.pos || cmp(a.user, b.user))
      .map((m) => m.user);
    return toConversation(row, ordered);
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    return (await this.ctx.db.rows(CQL.member, [conversationId, userId])).length > 0;
  }

  async listConversations(userId: string, page: ConversationPage) {
    // The user's list is clustered by conversation_id, so a page is a range read after the cursor.
    // Its entries are copies the conversation's members confirm; a leftover one is skipped, and
    // the read goes on until the page (and one more, to know whether another follows) is full.
    const found: Conversation[] = [];
    let after = page.after ?? '';
    for (;;) {
      const want = page.limit + 1 - found.length;
      const ids = (await this.ctx.db.rows(CQL.conversationsByUserAfter, [userId, after, want])).map((r) => String(r.conversation_id));
      const read = await eachLimited(ids, PARALLEL, (id) => this.getConversation(id));
      found.push(...read.filter((c): c is Conversation => c !== null && c.members.includes(userId)));
      if (ids.length < want || found.length > page.limit) break;
      after = ids.at(-1)!;
    }
    const conversations = found.slice(0, page.limit);
    return { conversations, next: found.length > page.limit ? conversations.at(-1)!.conversation_id : null };
  }

  async addMember(conversationId: string, userId: string, at: string, cap?: { max: number }) {
    const { db, caps } = this.ctx;
    const c = await this.getConversation(conversationId);
    if (!c) throw notFound('conversation');
    if (!c.members.includes(userId)) {
      // The member takes a slot first: with the cap reached, nothing is written.
      const scope = cap ? this.memberScope(conversationId) : null;
      const claimed = scope ? await caps.claim(scope, userId, cap!.max) : null;
      const pos = (await db.rows(CQL.members, [conversationId])).reduce((max, m) => Math.max(max, num(m.pos) ?? 0), 0) + 1;
      await db.run(CQL.addMember, [conversationId, userId, at, pos]);
      if (scope && claimed?.fresh) await caps.settle(scope, userId, claimed.slot);
    }
    await db.run(CQL.insertConversationByUser, [userId, conversationId]);
    return (await this.getConversation(conversationId))!;
  }

  async removeMember(conversationId: string, userId: string) {
    const removed = (await this.ctx.db.run(CQL.removeMember, [conversationId, userId])).wasApplied();
    // The index row is only a hint (listConversations checks membership): drop it after the truth.
    if (removed) {
      await this.ctx.db.run(CQL.deleteConversationByUser, [userId, conversationId]);
      // After the member row: a slot without its item is taken back later anyway, never the reverse.
      await this.ctx.caps.release({ scope: 'members', owner: conversationId }, userId);
    }
    return removed;
  }

  /** The slots of a group's members (item: the user id). The first members get theirs at the first add. */
  private memberScope(conversationId: string): CapScope {
    return {
      scope: 'members',
      owner: conversationId,
      live: async () => (await this.ctx.db.rows(CQL.members, [conversationId], { serial: true })).map((m) => String(m.user_id)),
      refuse: (count, max) => tooManyMembers(conversationId, count, max),
    };
  }
}

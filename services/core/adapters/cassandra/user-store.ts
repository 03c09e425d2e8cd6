import type { ExternalChannel, Identity, User } from '../../domain/types.ts';
import { tooManyIdentities } from '../../cap-reached.ts';
import { conflict, unavailable } from '../../errors.ts';
import type { IdentityChallenge, NewUser, UserStore } from '../../ports/user-store.ts';
import type { CapScope } from './cap-slots.ts';
import type { CqlRow } from './session.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { publicUser, toIdentity, toUser, userRow } from './rows.ts';
import { CQL } from './statements.ts';
import { cmp, num, str } from './values.ts';

/**
 * Users and identities on Cassandra. Usernames and addresses are claimed with `IF NOT EXISTS`
 * (`users_by_name`, `identities`); the per-user lists are copies that readers check against them.
 */
export class CassandraUserStore implements UserStore {
  constructor(private readonly ctx: CassandraContext) {}

  async createUser(user: NewUser): Promise<User> {
    const { db } = this.ctx;
    const row = userRow(user);
    // The user row first (harmless alone: nothing finds it by name), then the name claim.
    await db.run(CQL.insertUser, [row.user_id, row.username, row.password_hash, row.email, row.user_role, row.created_at]);
    if (!(await db.run(CQL.claimUsername, [user.username, user.user_id])).wasApplied()) {
      const holder = (await db.run(CQL.userIdByName, [user.username], { serial: true })).rows[0];
      if (str(holder?.user_id) !== user.user_id) {
        await db.run(CQL.deleteUser, [user.user_id]);
        throw conflict(`username ${user.username} is taken`);
      }
    }
    return publicUser(toUser(row));
  }

  async findUserByName(username: string) {
    const holder = (await this.ctx.db.run(CQL.userIdByName, [username])).rows[0];
    if (!holder) return null;
    const r = (await this.ctx.db.run(CQL.user, [holder.user_id])).rows[0];
    return r ? toUser(r) : null;
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<boolean> {
    // An UPDATE is an upsert: read first, so no row is made for a user that does not exist. Not
    // IF EXISTS: the row's other writes are plain, and Cassandra orders the two kinds by different
    // clocks. The only delete of a user row is createUser's undo of a row nobody has logged in with.
    if ((await this.ctx.db.run(CQL.user, [userId])).rows.length === 0) return false;
    await this.ctx.db.run(CQL.setPasswordHash, [passwordHash, userId]);
    return true;
  }

  async setRole(userId: string, role: 'user' | 'admin'): Promise<boolean> {
    // Read first, as in updatePasswordHash: an UPDATE would make a row for an unknown user.
    if ((await this.ctx.db.run(CQL.user, [userId])).rows.length === 0) return false;
    await this.ctx.db.run(CQL.setRole, [role, userId]);
    return true;
  }

  async getUser(userId: string) {
    const r = (await this.ctx.db.run(CQL.user, [userId])).rows[0];
    return r ? publicUser(toUser(r)) : null;
  }

  async linkIdentity(identity: Identity, cap?: { max: number }): Promise<Identity> {
    const { db, caps } = this.ctx;
    const { channel, address, user_id, linked_at } = identity;
    // A held address is linked again without a slot (never refused); a new one first takes a slot.
    const holder = cap ? await this.findIdentity(channel, address) : null;
    const scope = cap && !holder ? this.identityScope(user_id, channel) : null;
    const claimed = scope ? await caps.claim(scope, address, cap!.max) : null;
    let stored = identity;
    if (!(await db.run(CQL.claimAddress, [channel, address, user_id, linked_at])).wasApplied()) {
      const r = (await db.run(CQL.identity, [channel, address], { serial: true })).rows[0];
      if (!r) throw unavailable(`${channel} address ${address}: claim not applied and not found; retry`);
      stored = toIdentity(r);
      if (stored.user_id !== user_id) {
        if (scope && claimed?.fresh) await caps.release(scope, address, claimed.slot);
        throw conflict(`${channel} address ${address} is linked to another user`);
      }
    }
    // Also after a repeated link: it repairs a link that crashed before this write.
    await db.run(CQL.insertIdentityByUser, [stored.user_id, stored.channel, stored.address, stored.linked_at]);
    if (scope && claimed?.fresh) await caps.settle(scope, address, claimed.slot);
    return stored;
  }

  async transferIdentity(channel: ExternalChannel, address: string, fromId: string, to: { user_id: string; linked_at: string }, cap?: { max: number }) {
    const { db, caps } = this.ctx;
    const holder = await this.findIdentity(channel, address);
    if (holder?.user_id === to.user_id) return holder;
    if (holder?.user_id !== fromId) return null;
    // As in linkIdentity: the new holder takes a slot first, and gives it back if the move fails.
    const scope = cap ? this.identityScope(to.user_id, channel) : null;
    const claimed = scope ? await caps.claim(scope, address, cap!.max) : null;
    if (!(await db.run(CQL.moveAddress, [to.user_id, to.linked_at, channel, address, fromId])).wasApplied()) {
      if (scope && claimed?.fresh) await caps.release(scope, address, claimed.slot);
      const now = (await db.run(CQL.identity, [channel, address], { serial: true })).rows[0];
      return now && String(now.user_id) === to.user_id ? toIdentity(now) : null;
    }
    await db.run(CQL.insertIdentityByUser, [to.user_id, channel, address, to.linked_at]);
    await db.run(CQL.deleteIdentityByUser, [fromId, channel, address]);
    if (scope && claimed?.fresh) await caps.settle(scope, address, claimed.slot);
    return { channel, address, user_id: to.user_id, linked_at: to.linked_at };
  }

  /** The slots of a user's identities on one channel (item: the address). */
  private identityScope(userId: string, channel: ExternalChannel): CapScope {
    return {
      scope: `identities:${channel}`,
      owner: userId,
      live: async () => (await this.listIdentities([userId])).filter((i) => i.channel === channel).map((i) => i.address),
      refuse: (count, max) => tooManyIdentities(userId, channel, count, max),
    };
  }

  async listIdentities(userIds: string[]): Promise<Identity[]> {
    const { db } = this.ctx;
    const perUser = await eachLimited([...new Set(userIds)], PARALLEL, async (u) => (await db.rows(CQL.identitiesByUser, [u])).map(toIdentity));
    // The per-user list is a copy; the address table decides who holds an address.
    const checked = await eachLimited(perUser.flat(), PARALLEL, async (i) => {
      const owner = (await db.run(CQL.identity, [i.channel, i.address])).rows[0];
      return owner && owner.user_id === i.user_id ? i : null;
    });
    return checked
      .filter((i): i is Identity => i !== null)
      .sort((a, b) => cmp(a.linked_at, b.linked_at) || cmp(a.channel, b.channel) || cmp(a.address, b.address));
  }

  async unlinkIdentity(userId: string, channel: ExternalChannel, address: string) {
    const removed = (await this.ctx.db.run(CQL.releaseAddress, [channel, address, userId])).wasApplied();
    await this.ctx.db.run(CQL.deleteIdentityByUser, [userId, channel, address]);
    // After the address: a slot without its item is taken back later anyway, never the reverse.
    await this.ctx.caps.release({ scope: `identities:${channel}`, owner: userId }, address);
    return removed;
  }

  async findIdentity(channel: ExternalChannel, address: string) {
    const r = (await this.ctx.db.run(CQL.identity, [channel, address])).rows[0];
    return r ? toIdentity(r) : null;
  }

  async putIdentityChallenge(c: IdentityChallenge) {
    const { db } = this.ctx;
    for (let attempt = 0; attempt < CHALLENGE_ATTEMPTS; attempt++) {
      await db.run(CQL.deleteChallenge, [c.user_id, c.channel, c.address]);
      const params = [c.user_id, c.channel, c.address, c.code_hash, c.created_at, c.expires_at, c.tries_left];
      if ((await db.run(CQL.insertChallenge, params)).wasApplied()) return;
    }
    throw unavailable(`${c.channel} address ${c.address}: pending link is contended; retry`);
  }

  async getIdentityChallenge(userId: string, channel: ExternalChannel, address: string) {
    const r = (await this.ctx.db.run(CQL.challenge, [userId, channel, address], { serial: true })).rows[0];
    return r ? toChallenge(r) : null;
  }

  async listIdentityChallenges(userId: string) {
    return (await this.ctx.db.rows(CQL.challengesOf, [userId])).map(toChallenge);
  }

  async spendIdentityChallengeTry(userId: string, channel: ExternalChannel, address: string) {
    for (let attempt = 0; attempt < CHALLENGE_ATTEMPTS; attempt++) {
      const c = await this.getIdentityChallenge(userId, channel, address);
      if (!c || c.tries_left <= 0) return null;
      const left = c.tries_left - 1;
      if ((await this.ctx.db.run(CQL.spendChallengeTry, [left, userId, channel, address, c.tries_left])).wasApplied()) return { ...c, tries_left: left };
    }
    throw unavailable(`${channel} address ${address}: pending link is contended; retry`);
  }

  async deleteIdentityChallenge(userId: string, channel: ExternalChannel, address: string) {
    return (await this.ctx.db.run(CQL.deleteChallenge, [userId, channel, address])).wasApplied();
  }
}

/** Compare-and-set rounds on one pending link before giving up with a retriable error. */
const CHALLENGE_ATTEMPTS = 8;

function toChallenge(r: CqlRow): IdentityChallenge {
  return {
    user_id: String(r.user_id),
    channel: String(r.channel) as ExternalChannel,
    address: String(r.address),
    code_hash: String(r.code_hash),
    created_at: String(r.created_at),
    expires_at: String(r.expires_at),
    tries_left: num(r.tries_left) ?? 0,
  };
}

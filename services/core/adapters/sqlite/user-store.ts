import type { ExternalChannel, Identity, User } from '../../domain/types.ts';
import { tooManyIdentities } from '../../cap-reached.ts';
import { conflict } from '../../errors.ts';
import type { IdentityChallenge, NewUser, UserStore } from '../../ports/user-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { toUser, type Row } from './rows.ts';
import type { Statement } from 'better-sqlite3';

/** Users and identities in the embedded SQLite store. */
export class SqliteUserStore implements UserStore {
  private readonly stmt;

  private readonly identitiesOf = new Map<number, Statement<string[]>>();

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      insertUser: db.prepare(
        'INSERT INTO users (user_id, username, password_hash, email, role, created_at) VALUES (@user_id, @username, @password_hash, @email, @role, @created_at)',
      ),
      userByName: db.prepare('SELECT * FROM users WHERE username = ?'),
      userById: db.prepare('SELECT * FROM users WHERE user_id = ?'),
      setPasswordHash: db.prepare('UPDATE users SET password_hash = ? WHERE user_id = ?'),
      setRole: db.prepare('UPDATE users SET role = ? WHERE user_id = ?'),
      identity: db.prepare('SELECT * FROM identities WHERE channel = ? AND address = ?'),
      insertIdentity: db.prepare(
        'INSERT INTO identities (channel, address, user_id, linked_at) VALUES (@channel, @address, @user_id, @linked_at)',
      ),
      countIdentities: db.prepare('SELECT COUNT(*) AS n FROM identities WHERE user_id = ? AND channel = ?'),
      moveIdentity: db.prepare('UPDATE identities SET user_id = ?, linked_at = ? WHERE channel = ? AND address = ? AND user_id = ?'),
      deleteIdentity: db.prepare('DELETE FROM identities WHERE user_id = ? AND channel = ? AND address = ?'),
      putChallenge: db.prepare(
        `INSERT OR REPLACE INTO identity_challenges (user_id, channel, address, code_hash, created_at, expires_at, tries_left)
         VALUES (@user_id, @channel, @address, @code_hash, @created_at, @expires_at, @tries_left)`,
      ),
      challenge: db.prepare('SELECT * FROM identity_challenges WHERE user_id = ? AND channel = ? AND address = ?'),
      challengesOf: db.prepare('SELECT * FROM identity_challenges WHERE user_id = ? ORDER BY created_at, channel, address'),
      spendTry: db.prepare(
        'UPDATE identity_challenges SET tries_left = tries_left - 1 WHERE user_id = ? AND channel = ? AND address = ? AND tries_left > 0 RETURNING *',
      ),
      deleteChallenge: db.prepare('DELETE FROM identity_challenges WHERE user_id = ? AND channel = ? AND address = ?'),
    };
  }

  async createUser(user: NewUser): Promise<User> {
    try {
      this.stmt.insertUser.run({ email: null, role: 'user', ...user });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict(`username ${user.username} is taken`);
      throw err;
    }
    return toUser(this.stmt.userById.get(user.user_id) as Row);
  }

  async findUserByName(username: string) {
    const r = this.stmt.userByName.get(username) as Row | undefined;
    return r ? { ...toUser(r), password_hash: r.password_hash as string } : null;
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<boolean> {
    return this.stmt.setPasswordHash.run(passwordHash, userId).changes > 0;
  }

  async setRole(userId: string, role: 'user' | 'admin'): Promise<boolean> {
    return this.stmt.setRole.run(role, userId).changes > 0;
  }

  async getUser(userId: string) {
    const r = this.stmt.userById.get(userId) as Row | undefined;
    return r ? toUser(r) : null;
  }

  async linkIdentity(identity: Identity, cap?: { max: number }): Promise<Identity> {
    // Check and insert in one write transaction: parallel links at the cap see each other.
    return writeTransaction(this.db, () => {
      const existing = this.stmt.identity.get(identity.channel, identity.address) as Identity | undefined;
      if (existing) {
        if (existing.user_id !== identity.user_id) {
          throw conflict(`${identity.channel} address ${identity.address} is linked to another user`);
        }
        return existing;
      }
      if (cap) {
        const { n } = this.stmt.countIdentities.get(identity.user_id, identity.channel) as { n: number };
        if (n >= cap.max) throw tooManyIdentities(identity.user_id, identity.channel, n, cap.max);
      }
      this.stmt.insertIdentity.run(identity);
      return identity;
    });
  }

  async transferIdentity(channel: ExternalChannel, address: string, fromId: string, to: { user_id: string; linked_at: string }, cap?: { max: number }) {
    return writeTransaction(this.db, (): Identity | null => {
      const existing = this.stmt.identity.get(channel, address) as Identity | undefined;
      if (existing?.user_id === to.user_id) return existing;
      if (existing?.user_id !== fromId) return null;
      if (cap) {
        const { n } = this.stmt.countIdentities.get(to.user_id, channel) as { n: number };
        if (n >= cap.max) throw tooManyIdentities(to.user_id, channel, n, cap.max);
      }
      this.stmt.moveIdentity.run(to.user_id, to.linked_at, channel, address, fromId);
      return { channel, address, user_id: to.user_id, linked_at: to.linked_at };
    });
  }

  async listIdentities(userIds: string[]): Promise<Identity[]> {
    if (userIds.length === 0) return [];
    // Routing asks this for every message: a statement per list length, prepared once.
    let statement = this.identitiesOf.get(userIds.length);
    if (!statement) {
      statement = this.db.prepare(`SELECT * FROM identities WHERE user_id IN (${userIds.map(() => '?').join(',')}) ORDER BY linked_at, channel, address`);
      if (userIds.length <= 64) this.identitiesOf.set(userIds.length, statement);
    }
    return statement.all(...userIds) as Identity[];
  }

  async unlinkIdentity(userId: string, channel: ExternalChannel, address: string) {
    return this.stmt.deleteIdentity.run(userId, channel, address).changes > 0;
  }

  async findIdentity(channel: ExternalChannel, address: string) {
    return (this.stmt.identity.get(channel, address) as Identity | undefined) ?? null;
  }

  async putIdentityChallenge(c: IdentityChallenge) {
    this.stmt.putChallenge.run(c);
  }

  async getIdentityChallenge(userId: string, channel: ExternalChannel, address: string) {
    const r = this.stmt.challenge.get(userId, channel, address) as Row | undefined;
    return r ? toChallenge(r) : null;
  }

  async listIdentityChallenges(userId: string) {
    return (this.stmt.challengesOf.all(userId) as Row[]).map(toChallenge);
  }

  async spendIdentityChallengeTry(userId: string, channel: ExternalChannel, address: string) {
    const r = this.stmt.spendTry.get(userId, channel, address) as Row | undefined;
    return r ? toChallenge(r) : null;
  }

  async deleteIdentityChallenge(userId: string, channel: ExternalChannel, address: string) {
    return this.stmt.deleteChallenge.run(userId, channel, address).changes > 0;
  }
}

function toChallenge(r: Row): IdentityChallenge {
  return {
    user_id: r.user_id as string,
    channel: r.channel as ExternalChannel,
    address: r.address as string,
    code_hash: r.code_hash as string,
    created_at: r.created_at as string,
    expires_at: r.expires_at as string,
    tries_left: Number(r.tries_left),
  };
}


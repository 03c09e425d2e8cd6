import type { ExternalChannel, Identity, User } from '../../domain/types.ts';
import { tooManyIdentities } from '../../cap-reached.ts';
import { conflict } from '../../errors.ts';
import type { NewUser, UserStore } from '../../ports/user-store.ts';
import { writeTransaction, type SqliteDatabase } from './database.ts';
import { toUser, type Row } from './rows.ts';

/** Users and identities in the embedded SQLite store. */
export class SqliteUserStore implements UserStore {
  private readonly stmt;

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
      deleteIdentity: db.prepare('DELETE FROM identities WHERE user_id = ? AND channel = ? AND address = ?'),
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

  async listIdentities(userIds: string[]): Promise<Identity[]> {
    if (userIds.length === 0) return [];
    const q = `SELECT * FROM identities WHERE user_id IN (${userIds.map(() => '?').join(',')}) ORDER BY linked_at, channel, address`;
    return this.db.prepare(q).all(...userIds) as Identity[];
  }

  async unlinkIdentity(userId: string, channel: ExternalChannel, address: string) {
    return this.stmt.deleteIdentity.run(userId, channel, address).changes > 0;
  }

  async findIdentity(channel: ExternalChannel, address: string) {
    return (this.stmt.identity.get(channel, address) as Identity | undefined) ?? null;
  }
}


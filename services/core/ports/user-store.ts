import type { ExternalChannel, Identity, User } from '../domain/types.ts';

/** A user as registration creates it. */
export interface NewUser {
  user_id: string;
  username: string;
  password_hash: string;
  email?: string | null;
  role?: 'user' | 'admin';
  created_at: string;
}

/** Users and the external addresses (identities) linked to them. */
export interface UserStore {
  /** Creates a user; throws a `conflict` AppError when the username is taken. */
  createUser(user: NewUser): Promise<User>;
  /** The user and its password hash, by username; null when there is none. */
  findUserByName(username: string): Promise<(User & { password_hash: string }) | null>;
  /** The user by id; null when there is none. */
  getUser(userId: string): Promise<User | null>;
  /**
   * Replaces a user's password hash (a rehash with today's parameters after a login). Returns
   * whether the user exists; never creates one.
   */
  updatePasswordHash(userId: string, passwordHash: string): Promise<boolean>;
  /**
   * Sets a user's role (an operator's `chat4all admin grant|revoke`). Returns whether the user
   * exists; never creates one. Takes effect at the caller's next request: admin routes read the
   * role from here, not from the access token.
   */
  setRole(userId: string, role: 'user' | 'admin'): Promise<boolean>;

  /**
   * Links an external address to a user; throws `conflict` when another user holds it. Idempotent
   * for the same user. With `cap`, a user who already has `cap.max` identities on the channel is
   * refused with `CapReached` (`too_many_identities`), decided atomically with the link: parallel
   * links at the limit never overshoot it (a repeated link of a held address is never refused).
   */
  linkIdentity(identity: Identity, cap?: { max: number }): Promise<Identity>;
  /** The identities of the given users (any order). */
  listIdentities(userIds: string[]): Promise<Identity[]>;
  /** Removes a user's link to an address; returns whether something was removed. */
  unlinkIdentity(userId: string, channel: ExternalChannel, address: string): Promise<boolean>;
  /** Who holds an address on a channel; null when no one does. */
  findIdentity(channel: ExternalChannel, address: string): Promise<Identity | null>;
}

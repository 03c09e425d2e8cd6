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

/**
 * A link of an address to a user that waits for proof of ownership: the one-time code sent
 * through that channel (only its hash is kept). One per user, channel and address; linking again
 * replaces it with a fresh code.
 */
export interface IdentityChallenge {
  user_id: string;
  channel: ExternalChannel;
  address: string;
  /** Hash of the one-time code (never the code itself). */
  code_hash: string;
  created_at: string;
  /** RFC 3339 time after which the code is refused. */
  expires_at: string;
  /** Wrong codes still allowed. */
  tries_left: number;
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
  /**
   * Hands an address from its holder `fromId` (a contact) to another user, in one atomic step:
   * nobody else can take the address in between. Returns the new identity; the existing one when
   * `to` holds it already; null when `fromId` does not hold it (then nothing changes). With `cap`,
   * like `linkIdentity`: `to` already holding `cap.max` identities on the channel is refused with
   * `CapReached`, decided atomically with the move.
   */
  transferIdentity(channel: ExternalChannel, address: string, fromId: string, to: { user_id: string; linked_at: string }, cap?: { max: number }): Promise<Identity | null>;
  /** The identities of the given users (any order). */
  listIdentities(userIds: string[]): Promise<Identity[]>;
  /** Removes a user's link to an address; returns whether something was removed. */
  unlinkIdentity(userId: string, channel: ExternalChannel, address: string): Promise<boolean>;
  /** Who holds an address on a channel; null when no one does. */
  findIdentity(channel: ExternalChannel, address: string): Promise<Identity | null>;

  /** Stores a pending link with its code, replacing one for the same user, channel and address. */
  putIdentityChallenge(challenge: IdentityChallenge): Promise<void>;
  /** The pending link of a user to an address; null when there is none. */
  getIdentityChallenge(userId: string, channel: ExternalChannel, address: string): Promise<IdentityChallenge | null>;
  /** A user's pending links (any order). */
  listIdentityChallenges(userId: string): Promise<IdentityChallenge[]>;
  /**
   * Spends one try of a pending link, atomically (two guesses at once spend two tries). Returns it
   * as it is after the spending, or null when there is none or no try was left.
   */
  spendIdentityChallengeTry(userId: string, channel: ExternalChannel, address: string): Promise<IdentityChallenge | null>;
  /** Deletes a pending link; returns whether this call deleted it (so a code is used once). */
  deleteIdentityChallenge(userId: string, channel: ExternalChannel, address: string): Promise<boolean>;
}

import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { SignJWT } from 'jose';
import type { Config } from '../core/config.ts';
import type { User } from '../core/domain/types.ts';
import { forbidden, unauthorized } from '../core/errors.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import { HashSlots } from './hash-slots.ts';
import { hashPassword, needsRehash, verifyPassword } from './password.ts';
import { accessTokenKey, TOKEN_ISSUER, verifyAccessToken, type Principal } from '../core/access-tokens.ts';

export { TOKEN_ISSUER, type Principal, type Role } from '../core/access-tokens.ts';

/** How many verified tokens an API process remembers. */
const VERIFIED_TOKENS = 10_000;

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export type Credentials = { username: string; password: string } | { client_id: string; client_secret: string };

export interface AuthDeps {
  config: Config;
  users: UserStore;
  clock: Clock;
}

/**
 * Registration, credential checks and access tokens (HS256 JWTs signed with `config.jwtSecret`).
 * Verification pins HS256, so `alg: none` and every other algorithm are refused.
 */
export class Auth {
  /** The HMAC key, imported once (see `accessTokenKey`). */
  private readonly key: Promise<CryptoKey>;
  /** A hash of nothing, verified against when the username is unknown so timing does not tell. */
  private dummyHash: Promise<string> | null = null;
  /** Every scrypt of this process goes through these slots (`PASSWORD_HASH_CONCURRENCY`, `PASSWORD_HASH_QUEUE`). */
  private readonly slots: HashSlots;
  /** Tokens verified valid, with their principal, until they expire (at most `VERIFIED_TOKENS`). */
  private readonly verified = new Map<string, Principal>();

  constructor(private readonly deps: AuthDeps) {
    this.slots = new HashSlots(deps.config.passwordHashConcurrency, deps.config.passwordHashQueue);
    this.key = accessTokenKey(deps.config.jwtSecret);
  }

  /**
   * Creates a user, always with the `user` role: no name is special. Admins are made by an
   * operator (`chat4all admin grant <username>`, against the store). Throws `conflict` when taken.
   */
  async register(input: { username: string; password: string; email?: string }): Promise<User> {
    const { config, users, clock } = this.deps;
    return users.createUser({
      user_id: randomUUID(),
      username: input.username,
      password_hash: await this.slots.run(() => hashPassword(input.password, config.scryptCost)),
      email: input.email ?? null,
      role: 'user',
      created_at: isoAt(clock.now()),
    });
  }

  /** Exchanges user or client credentials for a token; throws `unauthorized` on bad credentials. */
  async issueToken(credentials: Credentials): Promise<IssuedToken> {
    const principal = 'username' in credentials ? await this.checkUser(credentials) : this.checkClient(credentials);
    if (!principal) throw unauthorized('invalid credentials');
    const now = Math.floor(this.deps.clock.now() / 1000);
    const ttl = this.deps.config.jwtTtlSeconds;
    const access_token = await new SignJWT({ role: principal.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.sub)
      .setIssuer(TOKEN_ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(await this.key);
    return { access_token, token_type: 'Bearer', expires_in: ttl };
  }

  /** The principal a bearer token stands for; throws `unauthorized` for a missing, bad or expired token. */
  async verify(token: string): Promise<Principal> {
    // A token's verdict changes only with time (its exp): a valid one is remembered until then,
    // so the HMAC is computed once per token instead of once per request.
    const known = this.verified.get(token);
    if (known && known.exp !== undefined && this.deps.clock.now() < known.exp * 1000) return known;
    if (known) this.verified.delete(token);
    const principal = await verifyAccessToken(await this.key, token, this.deps.clock);
    if (principal.exp !== undefined) {
      // Bounded: the oldest remembered token makes room (it is verified again if it comes back).
      if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, principal);
    }
    return principal;
  }

  private async checkUser(c: { username: string; password: string }): Promise<Principal | null> {
    const { users, config } = this.deps;
    const user = await users.findUserByName(c.username);
    if (!user) {
      // Spend the same scrypt an existing user would cost, so response time does not reveal who exists.
      this.dummyHash ??= this.slots.run(() => hashPassword('not-a-real-password', config.scryptCost));
      const dummy = await this.dummyHash.catch((err: unknown) => {
        this.dummyHash = null;
        throw err;
      });
      await this.slots.run(() => verifyPassword(c.password, dummy));
      return null;
    }
    if (!(await this.slots.run(() => verifyPassword(c.password, user.password_hash)))) return null;
    if (needsRehash(user.password_hash, config.scryptCost)) await this.rehash(user.user_id, c.password);
    return { sub: user.user_id, role: user.role };
  }

  /**
   * Stores the password hashed with today's parameters (a raised `SCRYPT_COST`), now that the
   * login has proven the password. Best effort: when the slots are busy or the store fails, the
   * old hash stays valid and the next login tries again.
   */
  private async rehash(userId: string, password: string): Promise<void> {
    try {
      const hash = await this.slots.run(() => hashPassword(password, this.deps.config.scryptCost));
      await this.deps.users.updatePasswordHash(userId, hash);
    } catch {
      // Nothing to do: see above.
    }
  }

  private checkClient(c: { client_id: string; client_secret: string }): Principal | null {
    const expected = this.deps.config.authClients.get(c.client_id);
    // Compare digests so the comparison takes the same time whatever the lengths, and even for unknown ids.
    const digest = (s: string) => createHash('sha256').update(s).digest();
    const same = timingSafeEqual(digest(c.client_secret), digest(expected ?? `\0unknown:${c.client_secret}`));
    return expected !== undefined && same ? { sub: `client:${c.client_id}`, role: 'service' } : null;
  }
}

/** Middleware that requires a valid bearer token and puts its principal in `res.locals.principal`. */
export function requireAuth(auth: Auth) {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.principal = await auth.verify(bearerToken(req.headers.authorization));
    next();
  };
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/** The token of an `Authorization: Bearer …` header; throws `unauthorized` when there is none. */
export function bearerToken(header: string | undefined): string {
  const match = BEARER.exec(header ?? '');
  if (!match) throw unauthorized();
  return match[1]!;
}

/**
 * Requires the caller to be an admin now: the role is read from the store at every call, not
 * trusted from the token, so `chat4all admin revoke` takes effect at the next request (no cache:
 * one primary-key read per admin request, and admin routes are rare). Throws `forbidden`.
 */
export async function requireAdmin(users: UserStore, res: Response, what: string): Promise<Principal> {
  const principal = principalOf(res);
  const user = principal.role === 'service' ? null : await users.getUser(principal.sub);
  if (user?.role !== 'admin') throw forbidden(`${what} are for the admin role`);
  return principal;
}

/** The caller of an authenticated route. */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw unauthorized();
  return p;
}

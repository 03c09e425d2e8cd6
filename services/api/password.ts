import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** scrypt's block size and parallelism: OWASP's r = 8, p = 1. N comes from `SCRYPT_COST`. */
const R = 8;
const P = 1;
/** The largest N a stored hash may ask for (2^20: 1 GiB of memory); anything above is unusable. */
const MAX_N = 2 ** 20;

/** The memory one scrypt computation needs: 128·N·r bytes for V, plus 128·r·p for B (and slack). */
export function scryptMemory(N: number, r: number, p: number): number {
  return 128 * N * r + 128 * r * p + 1024 * 1024;
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  // maxmem is Node's cap on what one call may allocate (32 MiB by default, below OWASP's N = 2^17,
  // which needs 128 MiB): exactly what these parameters need, so the cap still stops a bad N.
  const options: ScryptOptions = { N, r, p, maxmem: scryptMemory(N, r, p) };
  return new Promise((resolve, reject) =>
    // The async form runs on the libuv pool, so hashing never blocks the event loop.
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes a password as `scrypt$N$r$p$salt_b64$hash_b64` (N = `cost`, r = 8, p = 1, a 16-byte
 * random salt, a 32-byte key). The parameters travel with the hash, so raising the cost later
 * keeps old hashes verifiable (and `needsRehash` says which to upgrade).
 */
export async function hashPassword(password: string, cost: number): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, cost, R, P, KEY_LENGTH);
  return ['scrypt', cost, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

function parseHash(stored: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || key.length === 0 || N > MAX_N || r * p >= 2 ** 30) return null;
  return { N, r, p, salt, key };
}

/** Whether `password` matches `stored`, compared in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  try {
    const actual = await derive(password, h.salt, h.N, h.r, h.p, h.key.length);
    return timingSafeEqual(actual, h.key);
  } catch {
    // Parameters scrypt refuses (N not a power of two, say): the hash is unusable.
    return false;
  }
}

/** Whether a stored hash was made with other parameters than `hashPassword(…, cost)` uses today. */
export function needsRehash(stored: string, cost: number): boolean {
  const h = parseHash(stored);
  return !h || h.N !== cost || h.r !== R || h.p !== P || h.key.length !== KEY_LENGTH || h.salt.length !== SALT_LENGTH;
}

import { randomBytes } from 'node:crypto';

/** Bytes drawn from the system at a time: one call serves many ids. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `n` random bytes (n ≤ 4096) for an id, cut from a pool refilled from `randomBytes` when it runs
 * out: a message id per accepted send was one system call per message. The bytes are a view into
 * the pool, valid until the next call; encode them at once.
 */
export function randomIdBytes(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + n);
  offset += n;
  return bytes;
}

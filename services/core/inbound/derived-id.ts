import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from its parts (a name-based id, like UUID v5 but with SHA-256): the
 * same parts always give the same id, so two processes that see the same provider event make the
 * same row without asking each other. Parts are joined with a separator no address contains.
 */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

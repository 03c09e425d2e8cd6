import { randomUUID } from 'node:crypto';

/**
 * A UUID version 7 (RFC 9562): the first 48 bits are the Unix time in ms, the rest random. Ids
 * made close in time sort close together, so rows keyed by them are inserted at the end of their
 * index instead of on a random page of it: a routing transaction's deliveries share a few index
 * pages, and its commit writes those few pages, not one per delivery.
 */
export function timeOrderedId(now = Date.now()): string {
  const t = now.toString(16).padStart(12, '0');
  // randomUUID's version nibble is at index 14; the variant and random bits after it are kept.
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

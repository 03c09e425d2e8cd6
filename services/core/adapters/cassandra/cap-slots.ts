import { unavailable } from '../../errors.ts';
import type { CapReached } from '../../cap-reached.ts';
import type { Db } from './session.ts';
import { CAS_ATTEMPTS } from './keys.ts';
import { CQL } from './statements.ts';
import { num, str } from './values.ts';

/**
 * A slot claimed this long ago whose item does not exist is a leftover (a write that failed or a
 * process that died between the claim and the write) and may be taken back. Longer than any
 * claim-then-write takes.
 */
export const STALE_SLOT_MS = 60_000;

/** One owner's capped items: the scope and owner of their slots, and what exists now. */
export interface CapScope {
  /** `identities:<channel>`, `members` or `webhooks`. */
  scope: string;
  owner: string;
  /**
   * The items that exist now (the rows the slots stand for). Items without a slot (written
   * before slots existed) are given one; slots of items that no longer exist are taken back.
   */
  live(): Promise<string[]>;
  /** The refusal when the cap is reached, with the number of items held. */
  refuse(count: number, max: number): CapReached;
}

interface Slot {
  slot: number;
  item: string;
  claimedAt: number;
}

/**
 * Race-free caps on Cassandra. An owner has `max` numbered slots (rows of one `cap_slots`
 * partition); an item may be written only after it holds one, and a slot is claimed with
 * `INSERT ... IF NOT EXISTS`, so two writers never hold the same slot and no more than `max`
 * items can be written, whatever runs in parallel on whichever API replica. Every write to the
 * table is a lightweight transaction (claims IF NOT EXISTS, releases IF item = ...): Cassandra
 * orders plain and Paxos writes by different clocks, so the two never mix on a row.
 */
export class CapSlots {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  /**
   * Claims a slot for `item` under `max`; returns its number, and whether this call claimed it (a
   * held item keeps its slot). Throws `scope.refuse` when every slot is held by a live item.
   */
  async claim(c: CapScope, item: string, max: number): Promise<{ slot: number; fresh: boolean }> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const slots = await this.read(c);
      const held = slots.find((s) => s.item === item);
      if (held) return { slot: held.slot, fresh: false };
      if (await this.repair(c, slots)) continue;
      if (slots.length >= max) throw c.refuse(slots.length, max);
      const used = new Set(slots.map((s) => s.slot));
      const free = Array.from({ length: max }, (_, i) => i).find((i) => !used.has(i));
      // Every number below max is taken while fewer than max slots exist: slots above a lowered max.
      if (free === undefined) throw c.refuse(slots.length, max);
      if ((await this.db.run(CQL.claimCapSlot, [c.scope, c.owner, free, item, this.now()])).wasApplied()) {
        return { slot: free, fresh: true };
      }
    }
    throw unavailable(`${c.scope} of ${c.owner}: slots are contended; retry`);
  }

  /**
   * Gives up the slot `claim` returned when the item was not written after all (or was already
   * written by a parallel call that holds another slot).
   */
  async release(c: Pick<CapScope, 'scope' | 'owner'>, item: string, slot?: number): Promise<void> {
    const slots = slot === undefined ? (await this.read(c)).filter((s) => s.item === item) : [{ slot, item, claimedAt: 0 }];
    for (const s of slots) await this.db.run(CQL.releaseCapSlot, [c.scope, c.owner, s.slot, item]);
  }

  /**
   * After a fresh claim and the item's write: when a parallel call wrote the same item under
   * another slot, the lowest slot keeps it and this one is released.
   */
  async settle(c: CapScope, item: string, slot: number): Promise<void> {
    const twins = (await this.read(c)).filter((s) => s.item === item && s.slot < slot);
    if (twins.length > 0) await this.release(c, item, slot);
  }

  private async read(c: Pick<CapScope, 'scope' | 'owner'>): Promise<Slot[]> {
    const rows = await this.db.rows(CQL.capSlots, [c.scope, c.owner], { serial: true });
    return rows.map((r) => ({ slot: num(r.slot) ?? 0, item: str(r.item) ?? '', claimedAt: num(r.claimed_at) ?? 0 }));
  }

  /**
   * Brings the slots in line with the items: gives a slot to each live item without one (items
   * written before caps were enforced, e.g. a group's first members; they may take numbers at or
   * above `max`), releases extra slots of a live item (two writers slotted it at once; the lowest
   * stays) and stale slots of items that do not exist. Returns whether it changed anything or met
   * a parallel writer (the caller reads again).
   */
  private async repair(c: CapScope, slots: Slot[]): Promise<boolean> {
    const live = new Set(await c.live());
    const lowest = new Map<string, number>();
    for (const s of slots) lowest.set(s.item, Math.min(lowest.get(s.item) ?? Infinity, s.slot));
    const old = this.now() - STALE_SLOT_MS;
    const extra = slots.filter((s) => (live.has(s.item) ? lowest.get(s.item) !== s.slot : s.claimedAt < old));
    for (const s of extra) await this.db.run(CQL.releaseCapSlot, [c.scope, c.owner, s.slot, s.item]);
    const unslotted = [...live].filter((i) => !lowest.has(i));
    // Numbers past every slot read, so a claim in flight for a lower free number is not taken.
    let next = Math.max(-1, ...slots.map((s) => s.slot)) + 1;
    for (const item of unslotted) {
      if (!(await this.db.run(CQL.claimCapSlot, [c.scope, c.owner, next++, item, this.now()])).wasApplied()) return true;
    }
    return extra.length > 0 || unslotted.length > 0;
  }
}

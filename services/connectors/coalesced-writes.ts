import type { StatusEvent } from '../core/domain/types.ts';
import type { ApplyResult, DeliveryStore, ProviderRef } from '../core/ports/delivery-store.ts';

/**
 * One store call for the items handed in during one turn of the event loop: `writeMany` takes
 * them all, in the order given, and answers one result each. Every caller waits for the write of
 * its own item (and hears of its failure).
 */
export function coalesced<T, R>(writeMany: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let open: { items: T[]; results: Promise<R[]> } | null = null;
  return (item) => {
    if (!open) {
      const group: { items: T[]; results?: Promise<R[]> } = { items: [] };
      group.results = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        open = null;
        return writeMany(group.items);
      });
      open = group as { items: T[]; results: Promise<R[]> };
    }
    const index = open.items.push(item) - 1;
    return open.results.then((results) => results[index]!);
  };
}

/** A delivery store's in-flight marks and provider ids, each written for many deliveries at once. */
export interface DeliveryWrites {
  /** Marks a delivery in flight (`at`: the first mark of its group stands for the whole group). */
  markInFlight(item: { delivery_id: string; at: string }): Promise<void>;
  /** Records a provider's id; false when the delivery already had another one. */
  recordProviderRef(ref: ProviderRef): Promise<boolean>;
}

const perStore = new WeakMap<object, DeliveryWrites>();

/**
 * The coalesced writes of a delivery store, one set per store (so the batches of every partition
 * a process handles at once share their writes): the marks and ids of calls made or answered in
 * the same turn go in one `markManyInFlight` / `recordProviderRefs`.
 */
export function deliveryWrites(store: Pick<DeliveryStore, 'markManyInFlight' | 'recordProviderRefs'>): DeliveryWrites {
  let writes = perStore.get(store);
  if (!writes) {
    writes = {
      markInFlight: coalesced(async (items: { delivery_id: string; at: string }[]) => {
        await store.markManyInFlight(
          items.map((i) => i.delivery_id),
          items[0]!.at,
        );
        return items.map(() => undefined);
      }),
      recordProviderRef: coalesced((refs: ProviderRef[]) => store.recordProviderRefs(refs)),
    };
    perStore.set(store, writes);
  }
  return writes;
}

const statusesPerStore = new WeakMap<object, (events: StatusEvent[]) => Promise<ApplyResult[]>>();

/**
 * `applyStatuses` for the webhooks that arrive in one turn of the event loop, in one store call
 * (one SQLite write transaction instead of one per webhook): their events in arrival order, each
 * webhook answered with its own results once the write is done.
 */
export function statusWrites(store: Pick<DeliveryStore, 'applyStatuses'>): (events: StatusEvent[]) => Promise<ApplyResult[]> {
  let write = statusesPerStore.get(store);
  if (!write) {
    write = coalesced(async (lists: StatusEvent[][]) => {
      const results = await store.applyStatuses(lists.flat());
      let at = 0;
      return lists.map((list) => results.slice(at, (at += list.length)));
    });
    statusesPerStore.set(store, write);
  }
  return write;
}

/**
 * Handles the records of one partition's batch with key-level concurrency, the way Kafka's
 * parallel consumers do: records of different keys run at once (at most `width` keys at a time),
 * records of one key run one after the other in offset order. Ordering is only promised per key
 * (a conversation), so a slow key no longer holds up every other key of its partition.
 *
 * `handle` returns false when the record could not be finished (the consumer is stopping or lost
 * the partition); that key stops there, and so do keys not started yet. Resolves with how many
 * records from the front of `items` were finished without a gap: only that prefix may be
 * committed, whatever finished behind a gap is handled again after a restart (the handlers are
 * idempotent).
 */
export async function handleKeyed<T extends { key: string }>(
  items: readonly T[],
  width: number,
  handle: (item: T) => Promise<boolean>,
): Promise<number> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const g = groups.get(item.key);
    if (g) g.push(i);
    else groups.set(item.key, [i]);
  });
  const queue = [...groups.values()];
  const done = new Array<boolean>(items.length).fill(false);
  let aborted = false;
  const worker = async () => {
    for (let g = queue.shift(); g && !aborted; g = queue.shift()) {
      for (const i of g) {
        if (aborted) return;
        if (!(await handle(items[i]!))) {
          aborted = true;
          return;
        }
        done[i] = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, queue.length)) }, worker));
  const gap = done.indexOf(false);
  return gap < 0 ? items.length : gap;
}

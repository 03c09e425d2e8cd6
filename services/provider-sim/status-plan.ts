import type { StatusOrder } from './sim-config.ts';

/** A status the provider reports, with its nominal delay after the send. */
export interface PlannedStatus<S> {
  status: S;
  /** When the status happened, after the send: goes into the webhook's timestamp. */
  nominalDelayMs: number;
  /** When the webhook is emitted, after the send. */
  delayMs: number;
}

/**
 * Decides when each status webhook of one message is emitted. `shuffled` keeps the set of
 * delays but hands them to the statuses in random order (so `read` may come before
 * `delivered`), while each webhook's timestamp stays the time the status happened, as with
 * Meta's unordered delivery. `duplicate` emits every status twice.
 */
export function planStatuses<S>(
  statuses: ReadonlyArray<{ status: S; delayMs: number }>,
  mode: { order: StatusOrder; duplicate: boolean },
  random: () => number,
): PlannedStatus<S>[] {
  let plan = statuses.map((s) => ({ status: s.status, nominalDelayMs: s.delayMs, delayMs: s.delayMs }));
  if (mode.order === 'shuffled') {
    const delays = plan.map((p) => p.delayMs).sort((a, b) => a - b);
    const order = [...plan];
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    plan = order.map((p, i) => ({ ...p, delayMs: delays[i]! }));
  }
  return mode.duplicate ? plan.flatMap((p) => [p, { ...p }]) : plan;
}

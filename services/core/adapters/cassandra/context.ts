import { CapSlots } from './cap-slots.ts';
import { HistoryFeed } from './history-feed.ts';
import { TimeIds } from './keys.ts';
import { PendingIndex } from './queues.ts';
import { Db, type CqlSession } from './session.ts';

/** What the stores may be tuned with (tests set a clock and no settling wait). */
export interface CassandraStoreTuning {
  /** Time source (epoch ms). @default Date.now */
  now?: () => number;
  /**
   * How old a history entry must be before the webhook feed hands it out. History ids come from
   * the writers' clocks, so an entry may become visible a little after a later id did; waiting
   * this long makes sure none is skipped: longer than an LWT may take (Cassandra's
   * cas_contention_timeout 1 s + write_request_timeout 2 s) plus clock skew. @default 5000
   */
  historySettleMs?: number;
}

/** What the stores of one session share. */
export interface CassandraContext {
  db: Db;
  now: () => number;
  /**
   * One source of time-ordered ids for all the stores of a process, so the ids one process makes
   * (history entries of routings and of status changes, webhook start points) never go back.
   */
  ids: TimeIds;
  /** The time-bucketed queues (unrouted messages, undispatched and parked deliveries, webhook events). */
  queues: PendingIndex;
  /** Every history entry by id, for the webhook dispatchers. */
  feed: HistoryFeed;
  /** The slots that keep identities, members and webhooks under their caps. */
  caps: CapSlots;
}

/** The shared parts of the stores on one session. */
export function cassandraContext(session: CqlSession, tuning: CassandraStoreTuning = {}): CassandraContext {
  const db = new Db(session);
  const now = tuning.now ?? Date.now;
  return {
    db,
    now,
    ids: new TimeIds(now),
    queues: new PendingIndex(db, now),
    feed: new HistoryFeed(db, now, tuning.historySettleMs ?? 5000),
    caps: new CapSlots(db, now),
  };
}

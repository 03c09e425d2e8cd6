/**
 * A fix for an idle timer loop in kafkajs 2.2.4, applied to its RequestQueue class.
 *
 * Once a broker connection has had a response, `RequestQueue.scheduleCheckPendingRequests`
 * schedules a check in `throttledUntil - Date.now()` ms even when no request waits: that is
 * negative while unthrottled (a 1 ms timer), and the check schedules the next one, so every
 * connection runs a 1 ms timer for as long as it lives (kafkajs issue #1556, open; the fix of
 * its pull request #1667 is not released). An idle service spent ~3 % of a core on it.
 * With this fix a check is scheduled only when a request waits, or while a throttle is still
 * to be waited out, which is what the timer is for.
 */
import { createRequire } from 'node:module';

/** The fields of kafkajs' RequestQueue the fix reads (src/network/requestQueue/index.js). */
export interface KafkajsRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' RequestQueue class, the one every kafkajs connection of this process uses. */
export function kafkajsRequestQueueClass(): { prototype: KafkajsRequestQueue } & (new (opts: object) => KafkajsRequestQueue) {
  const require = createRequire(import.meta.url);
  return require('kafkajs/src/network/requestQueue/index.js');
}

let applied = false;

/** Applies the fix once per process; idempotent. */
export function fixKafkajsIdleTimer(): void {
  if (applied) return;
  applied = true;
  const proto = kafkajsRequestQueueClass().prototype;
  const schedule = proto.scheduleCheckPendingRequests;
  if (typeof schedule !== 'function') throw new Error('kafkajs RequestQueue has no scheduleCheckPendingRequests: re-check kafkajs-idle-timer.ts for this kafkajs version');
  proto.scheduleCheckPendingRequests = function (this: KafkajsRequestQueue) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
}

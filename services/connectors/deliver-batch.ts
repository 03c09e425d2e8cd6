import { isoAt } from '../core/ports/clock.ts';
import type { Delivery } from '../core/domain/types.ts';
import type { DeliveryJob } from '../core/records.ts';
import type { ChannelJob } from './channel-payload.ts';
import { deliveryWrites } from './coalesced-writes.ts';
import {
  afterRecorded,
  beforeCall,
  callProvider,
  channelJob,
  isParked,
  lockKey,
  noteSend,
  sendLogger,
  withLocks,
  type Accepted,
  type DeliverDeps,
  type SendLog,
} from './deliver.ts';

/** One delivery of a batch that passed its checks and goes to the provider. */
interface Call {
  delivery: Delivery;
  job: ChannelJob;
  log: SendLog;
}

/**
 * Delivers a fetched batch of delivery jobs the way `deliver` delivers one, with one store call
 * per step for the whole batch instead of one per job: the in-flight marks of all its calls in
 * one write, the provider ids of the calls that answered in one turn in one write (shared with
 * the batches of other partitions handled at the same time, see `coalesced-writes.ts`). Each
 * conversation of the batch is drained up to its latest job, in seq order (older deliveries still
 * unsent go first, a delivery already accepted is skipped, the first that has to wait stops its
 * conversation); conversations go side by side, at most `width` provider calls at once, each
 * call one HTTP request. The batch holds the locks of all its conversations until their provider
 * ids are written, so no drain of the retry loop sees a send of the batch as in doubt. A store
 * error throws: the bus then hands the same jobs one at a time to `deliver`, which finds the
 * batch's sends either recorded or in doubt.
 */
export async function deliverBatch(deps: DeliverDeps, jobs: DeliveryJob[], width: number): Promise<void> {
  const conversations = new Map<string, DeliveryJob[]>();
  for (const job of jobs) {
    const key = lockKey(job.channel, job.conversation_id);
    const list = conversations.get(key);
    if (list) list.push(job);
    else conversations.set(key, [job]);
  }
  if (conversations.size === 0) return;
  await withLocks([...conversations.keys()], async () => {
    const plans = await Promise.all([...conversations.values()].map((list) => planConversation(deps, list)));
    const calls = plans.flat();
    if (calls.length === 0) return;
    const writes = deliveryWrites(deps.deliveries);
    const at = isoAt(deps.clock.now());
    await Promise.all(calls.map((c) => writes.markInFlight({ delivery_id: c.job.delivery_id, at })));

    // Each id written soon after its call answered (the provider's first status webhook follows
    // within tens of milliseconds and should find it), the ids of one turn in one write.
    const recorded: Promise<void>[] = [];
    const record = (call: Call, outcome: Accepted) => {
      const id = outcome.result.provider_message_id;
      const done = noteSend(deps, call.job, id, writes.recordProviderRef({ delivery_id: call.job.delivery_id, provider_message_id: id })).then(() =>
        afterRecorded(deps, call.job, outcome, call.log),
      );
      // Handled here too, so a failed write waits for the end of the batch instead of crashing the process.
      done.catch(() => undefined);
      recorded.push(done);
    };
    const limit = limiter(Math.max(1, width));
    // Settled, not all: a store error in one conversation must not let go of the locks while
    // the others still call.
    const settled = await Promise.allSettled(
      plans.map(async (plan) => {
        for (const [i, call] of plan.entries()) {
          const outcome = await limit(() => callProvider(deps, call.job, call.log));
          if (outcome === 'waiting') {
            // Marked in flight with the batch but never called: not in doubt.
            for (const rest of plan.slice(i + 1)) await deps.deliveries.clearInFlight(rest.job.delivery_id);
            return;
          }
          if (outcome !== 'failed') record(call, outcome);
        }
      }),
    );
    await Promise.all(recorded);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
}

/**
 * The calls one conversation makes in this batch, in seq order: its deliveries still unsent up to
 * the latest job's seq, up to the first that has to wait. Jobs whose delivery is no longer
 * unsent (accepted or failed already: a replay) are counted as skipped.
 */
async function planConversation(deps: DeliverDeps, jobs: DeliveryJob[]): Promise<Call[]> {
  const { conversation_id, channel } = jobs[0]!;
  const upTo = Math.max(...jobs.map((j) => j.seq));
  const pending = await deps.deliveries.listUnsentBefore(conversation_id, channel, upTo + 1);
  const unsent = new Set(pending.map((d) => d.delivery_id));
  for (const job of jobs) if (!unsent.has(job.delivery_id)) deps.metrics.sent.inc({ channel, status: 'skipped' });

  const known = new Map(jobs.map((j) => [j.message_id, j]));
  const calls: Call[] = [];
  for (const d of pending) {
    if (isParked(deps, d)) break;
    const job = await channelJob(deps, d, known.get(d.message_id));
    if (!job) continue;
    const log = sendLogger(deps, job);
    const verdict = await beforeCall(deps, d, job, log);
    if (verdict === 'waiting') break;
    if (verdict === 'go') calls.push({ delivery: d, job, log });
  }
  return calls;
}

/** At most `width` of the functions handed to it run at once; the others wait their turn. */
function limiter(width: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A slot freed while others wait passes straight to the next one.
    if (running < width) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

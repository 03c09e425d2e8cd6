import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Bus, BusMessage } from './ports/bus.ts';
import type { DeadLetter, DeadLetterStore } from './ports/dead-letter-store.ts';
import { isoAt, type Clock } from './ports/clock.ts';
import { AppError } from './errors.ts';
import { TOPICS } from './topics.ts';
import type { Logger } from './logger.ts';

/** A record that can never be processed as it is (undecodable, or it breaks an invariant). */
export class PoisonRecord extends Error {
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'PoisonRecord';
  }
}

export type { DeadLetter } from './ports/dead-letter-store.ts';

export function createDeadLetterMetrics(registry: Registry) {
  return {
    /** Records set aside, per source topic and reason class. */
    deadLetters: new Counter({
      name: 'dead_letters_total',
      help: 'Records moved to the dead-letter topic, per source topic and reason (poison, bug)',
      labelNames: ['topic', 'reason'] as const,
      registers: [registry],
    }),
  };
}
export type DeadLetterMetrics = ReturnType<typeof createDeadLetterMetrics>;

/** Programming errors: retrying the same record cannot help. */
const isBug = (err: unknown) =>
  err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || (err instanceof AppError && !err.retriable);

/**
 * Wraps a bus handler so that a record that cannot be processed never blocks its partition:
 * a poison record (undecodable, breaks an invariant) goes to the dead-letter store and topic at
 * once; a record that keeps hitting a programming error goes there after `bugAttempts` tries.
 * Anything else (a store or bus outage) is thrown, so the bus retries it in place.
 */
export function withDeadLetters(
  handler: (m: BusMessage) => Promise<void>,
  deps: { deadLetters: DeadLetterStore; bus: Bus; clock: Clock; logger: Logger; metrics: DeadLetterMetrics },
  options: { bugAttempts?: number } = {},
): (m: BusMessage) => Promise<void> {
  const attempts = new Map<string, { n: number; first: number }>();
  return async (m) => {
    const key = `${m.topic}/${m.partition}/${m.offset}`;
    try {
      await handler(m);
      attempts.delete(key);
    } catch (err) {
      const seen = attempts.get(key) ?? { n: 0, first: deps.clock.now() };
      seen.n++;
      attempts.set(key, seen);
      const poison = err instanceof PoisonRecord;
      if (!poison && !(isBug(err) && seen.n >= (options.bugAttempts ?? 3))) throw err;
      const letter: DeadLetter = {
        id: randomUUID(),
        reason: poison ? err.reason : `gave up after ${seen.n} attempts: ${err instanceof Error ? err.message : String(err)}`,
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: m.headers,
        first_seen: isoAt(seen.first),
        status: 'open',
        updated_at: isoAt(deps.clock.now()),
      };
      const stored = await deps.deadLetters.addDeadLetter(letter);
      await deps.bus
        .publish(TOPICS.deadLetter, [{ key: stored.id, value: JSON.stringify(stored) }])
        .catch((e) => deps.logger.warn({ err: e }, 'dead letter stored but not published; the store keeps it'));
      deps.metrics.deadLetters.inc({ topic: m.topic, reason: poison ? 'poison' : 'bug' });
      deps.logger.error({ dead_letter_id: stored.id, topic: m.topic, partition: m.partition, offset: m.offset, reason: stored.reason }, 'record moved to the dead letters');
      attempts.delete(key);
    }
  };
}

/** Publishes a dead letter's record again on its original topic (optionally with a fixed value). */
export async function replayDeadLetter(
  deps: { deadLetters: DeadLetterStore; bus: Bus; clock: Clock },
  letter: DeadLetter,
  value?: string,
): Promise<DeadLetter> {
  await deps.bus.publish(letter.topic, [{ key: letter.key, value: value ?? letter.value, headers: letter.headers }]);
  return deps.deadLetters.setDeadLetterStatus(letter.id, 'replayed', isoAt(deps.clock.now()));
}

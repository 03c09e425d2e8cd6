import { AppError } from '../../errors.ts';

/** The parts of a kafkajs error we read (`KafkaJSError` and its subclasses). */
interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  retriable?: unknown;
  cause?: unknown;
}

/**
 * Whether a publish that failed with `err` may succeed if tried again, as kafkajs itself says.
 *
 * kafkajs marks each of its errors `retriable`. When its own retrier gives up it throws
 * `KafkaJSNumberOfRetriesExceeded`, which is always non-retriable (its retrier is done) and whose
 * `cause` is the last failure: that cause's flag tells whether a later attempt can help (a broker
 * that was down: yes; a record too large or a topic we may not write: no). Errors that are not
 * kafkajs's (no flag) are assumed transient.
 */
export function kafkaRetriable(err: unknown): boolean {
  let e = err as KafkaJsErrorLike | null | undefined;
  for (let depth = 0; e && e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause && depth < 5; depth++) e = e.cause as KafkaJsErrorLike;
  return typeof e?.retriable === 'boolean' ? e.retriable : true;
}

/**
 * Our error for a failed publish, keeping kafkajs' verdict: a retriable failure is `unavailable`
 * (503, Retry-After: 1), a permanent one `bus_rejected` (500, not retriable: the records need
 * fixing, not time). The kafkajs error stays the `cause`.
 */
export function publishError(err: unknown): AppError {
  const detail = (err as KafkaJsErrorLike | null)?.message ?? String(err);
  if (kafkaRetriable(err)) {
    return new AppError('unavailable', `the message bus did not take the records: ${detail}`, {
      status: 503,
      retriable: true,
      cause: err,
      headers: { 'Retry-After': '1' },
    });
  }
  return new AppError('bus_rejected', `the message bus refused the records: ${detail}`, { status: 500, retriable: false, cause: err });
}

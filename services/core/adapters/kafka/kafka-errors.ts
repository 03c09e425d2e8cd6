import { AppError } from '../../errors.ts';

/** The parts of a kafkajs error we read (`KafkaJSError` and its subclasses). */
interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  retriable?: unknown;
  cause?: unknown;
}

/** What kafkajs' retrier throws when it stops: the failure it stopped on is the `cause`. */
const RETRIER_WRAPPERS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

/**
 * Whether a publish that failed with `err` may succeed if tried again, as kafkajs itself says.
 *
 * kafkajs marks each of its errors `retriable`. Its retrier, when it stops, wraps the failure it
 * stopped on: `KafkaJSNumberOfRetriesExceeded` when retries ran out, `KafkaJSNonRetriableError`
 * when the failure was not retriable, or was itself the give-up of an inner retrier (the
 * producer's retrier runs around the cluster's: a broker that refuses connections arrives as
 * NonRetriable ← (NumberOfRetriesExceeded ←) ConnectionError). Both wrappers are non-retriable
 * only in the sense that that retrier is done, so the verdict is the flag of the first error
 * under them: a broker that was away (yes), a record too large or a topic we may not write (no).
 * A wrapper without a cause is kafkajs refusing the request itself (no). Errors that are not
 * kafkajs's (no flag) are assumed transient.
 */
export function kafkaRetriable(err: unknown): boolean {
  let e = err as KafkaJsErrorLike | null | undefined;
  for (let depth = 0; e && RETRIER_WRAPPERS.has(e.name ?? '') && e.cause && e.cause !== e && depth < 10; depth++) e = e.cause as KafkaJsErrorLike;
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

/** Whether a heartbeat's error says the group is rebalancing (or already moved on without this member). */
export function isRebalance(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID';
}

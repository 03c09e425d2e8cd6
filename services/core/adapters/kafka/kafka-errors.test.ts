import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { AppError, isRetriable } from '../../errors.ts';
import { kafkaRetriable, publishError } from './kafka-errors.ts';

// kafkajs is CommonJS and spreads its error classes into its exports: reach them through the default export.
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

const tooLarge = () => new KafkaJSProtocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as unknown as Error);
// What kafkajs' retrier throws (src/retry/index.js): the give-up carries the failure as its `cause`.
const gaveUp = (cause: Error) => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 2000, cause } as never);
const bailedOut = (e: Error) =>
  new (KafkaJSNonRetriableError as unknown as new (e: Error, m: { cause: unknown }) => Error)(e, { cause: (e as { cause?: unknown }).cause ?? e });

test('a broker that cannot be reached stays retriable, even after kafkajs gave up retrying', () => {
  const err = publishError(gaveUp(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1')));
  assert.ok(err instanceof AppError);
  assert.equal(err.retriable, true);
  assert.equal(err.code, 'unavailable');
  assert.equal(err.status, 503);
  assert.ok(isRetriable(err));
});

test('a refused connection seen through two retriers (the producer around the cluster) stays retriable', () => {
  // The shape a publish to a stopped dev broker really rejects with (seen in the failover test).
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
  for (const err of [bailedOut(gaveUp(refused)), bailedOut(refused)]) {
    assert.equal(kafkaRetriable(err), true, err.name);
    assert.equal(publishError(err).code, 'unavailable');
  }
});

test('kafkajs refusing a request by itself (a bare KafkaJSNonRetriableError) is not retriable', () => {
  assert.equal(kafkaRetriable(new KafkaJSNonRetriableError('Invalid topics array')), false);
});

test('a record kafkajs calls permanently refused is not retriable (not flattened to "unavailable")', () => {
  for (const cause of [tooLarge(), bailedOut(tooLarge()), bailedOut(gaveUp(tooLarge()))]) {
    const err = publishError(cause);
    assert.equal(err.retriable, false, cause.name);
    assert.equal(err.code, 'bus_rejected');
    assert.equal(err.status, 500);
    assert.equal(err.cause, cause, 'the kafkajs error stays the cause');
    assert.match(err.message, /larger than the max message size/);
  }
});

test('errors without a kafkajs verdict count as transient', () => {
  assert.equal(kafkaRetriable(new Error('socket hang up')), true);
  assert.equal(kafkaRetriable(undefined), true);
});

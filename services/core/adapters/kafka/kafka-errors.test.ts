import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { AppError, isRetriable } from '../../errors.ts';
import { kafkaRetriable, publishError } from './kafka-errors.ts';

// kafkajs is CommonJS and spreads its error classes into its exports: reach them through the default export.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

const tooLarge = () => new KafkaJSProtocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as unknown as Error);
const gaveUp = (cause: Error) => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 2000 });

test('a broker that cannot be reached stays retriable, even after kafkajs gave up retrying', () => {
  const err = publishError(gaveUp(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1')));
  assert.ok(err instanceof AppError);
  assert.equal(err.retriable, true);
  assert.equal(err.code, 'unavailable');
  assert.equal(err.status, 503);
  assert.ok(isRetriable(err));
});

test('a record kafkajs calls permanently refused is not retriable (not flattened to "unavailable")', () => {
  for (const cause of [tooLarge(), gaveUp(tooLarge())]) {
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { createLogger } from '../../logger.ts';
import { AppError } from '../../errors.ts';
import { KafkaBus } from './kafka-bus.ts';
import { kafkaLogLevel, pinoLogCreator } from './kafka-log.ts';

/** A pino logger whose JSON lines land in `lines`. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('kafka-log-test', level, sink), lines };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('kafkajs log entries become pino lines with their level, namespace and fields', () => {
  const { logger, lines } = capture('debug');
  const log = pinoLogCreator(logger)(logLevel.INFO);
  log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'Connection error', broker: '127.0.0.1:1' } });
  log({ namespace: 'Consumer', level: logLevel.INFO, label: 'INFO', log: { timestamp: 'x', message: 'joined', groupId: 'g' } });
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 50);
  assert.equal(lines[0]!.msg, 'Connection error');
  assert.equal(lines[0]!.namespace, 'Connection');
  assert.equal(lines[0]!.broker, '127.0.0.1:1');
  assert.equal(lines[0]!.component, 'kafkajs');
  assert.equal(lines[0]!.service, 'kafka-log-test');
  assert.equal(lines[1]!.level, 30);
  assert.equal(lines[1]!.groupId, 'g');
});

test("kafkajs' chatty INFO is heard only when the service logs at debug", () => {
  assert.equal(kafkaLogLevel('info'), logLevel.WARN);
  assert.equal(kafkaLogLevel('debug'), logLevel.INFO);
  assert.equal(kafkaLogLevel('trace'), logLevel.DEBUG);
  assert.equal(kafkaLogLevel('silent'), logLevel.NOTHING);
});

test('a KafkaBus that cannot reach its broker logs kafkajs errors through pino and rejects with a retriable AppError', { timeout: 30_000 }, async () => {
  const { logger, lines } = capture('info');
  const bus = new KafkaBus({ brokers: [`127.0.0.1:${await closedPort()}`], clientId: 'kafka-log-test', logger, lingerMs: 0 });
  try {
    const err = await bus.publish('any-topic', [{ key: 'k', value: 'v' }]).then(
      () => assert.fail('publish to no broker succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError);
    assert.equal(err.retriable, true, 'a connection refused is worth retrying');
    assert.equal(err.code, 'unavailable');
    const fromKafkajs = lines.filter((l) => l.component === 'kafkajs');
    assert.ok(fromKafkajs.length > 0, 'kafkajs said nothing through our logger');
    assert.ok(fromKafkajs.some((l) => l.level === 50 && typeof l.namespace === 'string'), JSON.stringify(fromKafkajs.slice(0, 3)));
  } finally {
    await bus.close();
  }
});

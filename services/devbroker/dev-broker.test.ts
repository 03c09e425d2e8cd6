/**
 * The dev broker against a real Kafka client (kafkajs) over loopback TCP.
 * Run: node --import tsx --test services/devbroker/dev-broker.test.ts
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startDevBroker, type DevBroker } from './dev-broker.ts';

const TOPIC = 'devbroker.test.orders';
const PARTITIONS = 6;
const MESSAGES = 1000;
const KEYS = 37;

/** Rejects after ms with a message naming what timed out. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('dev broker (librdkafka mock cluster)', { timeout: 120_000 }, () => {
  let broker: DevBroker | undefined;
  let kafka: Kafka;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    broker = await startDevBroker({ topics: [{ name: TOPIC, partitions: PARTITIONS }] });
    kafka = new Kafka({
      clientId: 'devbroker-test',
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
    });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await within(10_000, 'cleanup', c()).catch(() => {});
    await broker?.stop();
  });

  it('binds loopback only and answers commands', async () => {
    assert.ok(broker);
    assert.ok(broker.bootstrap.length === 1);
    for (const b of broker.bootstrap) assert.match(b, /^127\.0\.0\.1:\d+$/);
    await broker.ping();
    await assert.rejects(broker.down(7), /failed: usage/);
    await assert.rejects(broker.createTopic('bad topic', 1), /bad topic name/);
    await broker.createTopic('devbroker.test.extra', 2);
  });

  it('closes a connection that sends a malformed frame, and serves the others', async () => {
    assert.ok(broker);
    const [host, port] = broker.bootstrap[0]!.split(':');
    const closedAfter = (bytes: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), host, () => socket.write(bytes));
        socket.on('error', () => {}); // a reset is a close too
        socket.on('close', () => resolve());
        setTimeout(() => {
          socket.destroy();
          reject(new Error(`connection still open after sending ${bytes.toString('hex')}`));
        }, 3_000);
      });
    await closedAfter(Buffer.from([0x7f, 0xff, 0xff, 0xff])); // a 2 GB frame
    await closedAfter(Buffer.from([0, 0, 0, 2, 0, 1])); // too short for a request header
    await broker.ping();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await within(10_000, 'metadata', admin.fetchTopicMetadata({ topics: [TOPIC] }));
      assert.equal(md.topics[0]?.partitions.length, PARTITIONS);
    } finally {
      await admin.disconnect();
    }
  });

  it('reports the partitions of the created topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await within(10_000, 'metadata', admin.fetchTopicMetadata({ topics: [TOPIC, 'devbroker.test.extra'] }));
      const byName = new Map(md.topics.map((t) => [t.name, t.partitions.length]));
      assert.equal(byName.get(TOPIC), PARTITIONS);
      assert.equal(byName.get('devbroker.test.extra'), 2);
    } finally {
      await admin.disconnect();
    }
  });

  it('delivers 1000 keyed messages to a consumer group, in order per key', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const sent = new Map<string, number>();
    const t0 = performance.now();
    const BATCH = 100;
    for (let i = 0; i < MESSAGES; i += BATCH) {
      const messages = [];
      for (let j = i; j < Math.min(i + BATCH, MESSAGES); j++) {
        const key = `k${j % KEYS}`;
        const seq = sent.get(key) ?? 0;
        sent.set(key, seq + 1);
        messages.push({ key, value: JSON.stringify({ key, seq, i: j }) });
      }
      await within(10_000, 'produce batch', producer.send({ topic: TOPIC, acks: -1, messages }));
    }
    const produceMs = performance.now() - t0;

    const consumer = kafka.consumer({ groupId: 'devbroker-test-group', sessionTimeout: 6_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });

    const lastSeq = new Map<string, number>();
    const partitionsSeen = new Set<number>();
    let count = 0;
    let orderViolations = 0;
    let firstAt = 0;
    const tc = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (count === 0) firstAt = performance.now();
            const { key, seq } = JSON.parse(message.value!.toString()) as { key: string; seq: number };
            assert.equal(message.key?.toString(), key);
            if (seq !== (lastSeq.get(key) ?? -1) + 1) orderViolations++;
            lastSeq.set(key, seq);
            partitionsSeen.add(partition);
            if (++count === MESSAGES) resolve();
          },
        })
        .catch(reject);
    });
    await within(30_000, `consume (got ${count})`, done);
    const consumeDoneAt = performance.now();

    assert.equal(count, MESSAGES);
    assert.equal(orderViolations, 0);
    for (const [key, n] of sent) assert.equal(lastSeq.get(key), n - 1, `last seq of ${key}`);
    assert.ok(partitionsSeen.size > 1, 'keys spread over several partitions');

    console.log(
      `produce: ${MESSAGES} msgs in ${produceMs.toFixed(0)} ms (${Math.round((MESSAGES / produceMs) * 1000)} msg/s, batches of ${BATCH}, acks=-1); ` +
        `consume: group join ${(firstAt - tc).toFixed(0)} ms, then ${MESSAGES} msgs in ${(consumeDoneAt - firstAt).toFixed(0)} ms` +
        ` (${Math.round((MESSAGES / Math.max(1, consumeDoneAt - firstAt)) * 1000)} msg/s); partitions seen ${partitionsSeen.size}`,
    );
  });

  it('answers a waiting fetch as soon as a record is produced, not when its maxWait is over', async () => {
    assert.ok(broker);
    const topic = 'devbroker.test.longpoll';
    await broker.createTopic(topic, 2);
    const patient = new Kafka({ clientId: 'devbroker-test-longpoll', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, requestTimeout: 15_000 });
    const producer = patient.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const consumer = patient.consumer({ groupId: 'devbroker-test-longpoll', maxWaitTimeInMs: 5_000, sessionTimeout: 6_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });

    let fetching!: () => void;
    const firstFetch = new Promise<void>((res) => (fetching = res));
    consumer.on(consumer.events.FETCH_START, () => fetching());
    let received!: (at: number) => void;
    const receivedAt = new Promise<number>((res) => (received = res));
    await consumer.run({ eachMessage: async () => received(performance.now()) });

    await within(15_000, 'first fetch', firstFetch);
    await new Promise((r) => setTimeout(r, 200)); // the fetch is waiting at the broker now
    const producedAt = performance.now();
    await within(5_000, 'produce', producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'wake up' }] }));
    const waitedMs = (await within(10_000, 'consume', receivedAt)) - producedAt;
    // Functional, not a performance threshold: without long polling it takes the whole 5 s.
    assert.ok(waitedMs < 2_500, `the record reached the waiting consumer after ${waitedMs.toFixed(0)} ms`);
    console.log(`record produced into an idle topic reached a consumer with maxWait 5 s after ${waitedMs.toFixed(0)} ms`);
  });

  it('down all makes produce fail or stall; up all lets it succeed again', async () => {
    assert.ok(broker);
    // A client that gives up fast: with kafkajs' default retries a send keeps retrying for
    // tens of seconds in the background, which keeps the test process alive after the suite.
    const fragileKafka = new Kafka({
      clientId: 'devbroker-test-fragile',
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 1_500,
      retry: { retries: 0 },
    });
    const fragile: Producer = fragileKafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await fragile.connect();
    cleanups.push(() => fragile.disconnect());
    const send = (value: string) => fragile.send({ topic: TOPIC, acks: -1, timeout: 1_000, messages: [{ key: 'a', value }] });
    await within(5_000, 'produce before down', send('before'));

    await broker.down('all');
    const t0 = performance.now();
    const outcome = await within(
      10_000,
      'produce while down',
      send('during').then(
        () => 'succeeded',
        (err: Error) => `failed (${err.name}: ${err.message})`,
      ),
    ).catch(() => 'stalled');
    const downMs = performance.now() - t0;
    assert.notEqual(outcome, 'succeeded', 'produce must not succeed while every broker is down');

    await broker.up('all');
    const t1 = performance.now();
    const deadline = Date.now() + 20_000;
    let ok = false;
    let lastErr = '';
    while (!ok && Date.now() < deadline) {
      try {
        await within(4_000, 'produce after up', send('after'));
        ok = true;
      } catch (err) {
        lastErr = (err as Error).message;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    assert.ok(ok, `produce after up all: ${lastErr}`);
    console.log(`while down: ${outcome} after ${downMs.toFixed(0)} ms; after up: produced in ${(performance.now() - t1).toFixed(0)} ms`);
  });

  it('stop() leaves no process behind', async () => {
    assert.ok(broker);
    const pid = broker.pid;
    for (const c of cleanups.splice(0).reverse()) await within(10_000, 'client disconnect', c()).catch(() => {});
    await within(10_000, 'stop', broker.stop());
    assert.equal(alive(pid), false, `pid ${pid} still alive`);
    await broker.stop(); // idempotent
    await assert.rejects(broker.ping(), /not running/);
  });
});

describe('dev broker on fixed ports', { timeout: 60_000 }, () => {
  const started: DevBroker[] = [];
  after(async () => {
    for (const b of started) await b.stop();
  });

  it('restarts on the same port with fresh, empty topics; refuses a port in use', async () => {
    const port = await freePort();
    const first = await startDevBroker({ topics: [{ name: 'fixed.t', partitions: 3 }], ports: [port] });
    started.push(first);
    assert.deepEqual(first.bootstrap, [`127.0.0.1:${port}`]);
    await assert.rejects(startDevBroker({ topics: [], ports: [port] }), /cannot listen on 127\.0\.0\.1:\d+/);

    const kafka = new Kafka({ clientId: 'devbroker-fixed', brokers: first.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await within(5_000, 'produce', producer.send({ topic: 'fixed.t', acks: -1, messages: [{ key: 'k', value: 'v' }] }));
      await first.stop();
      const second = await startDevBroker({ topics: [{ name: 'fixed.t', partitions: 3 }], ports: [port] });
      started.push(second);
      assert.deepEqual(second.bootstrap, [`127.0.0.1:${port}`]);
      await within(10_000, 'produce after restart', producer.send({ topic: 'fixed.t', acks: -1, messages: [{ key: 'k', value: 'v2' }] }));
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = await within(5_000, 'offsets', admin.fetchTopicOffsets('fixed.t'));
        const total = offsets.reduce((n, o) => n + Number(o.high), 0);
        assert.equal(total, 1, 'only the message produced after the restart is there');
      } finally {
        await admin.disconnect();
      }
    } finally {
      await producer.disconnect();
    }
  });
});

import { Kafka, logLevel, type Consumer, type EachBatchPayload, type Producer, type Message as KafkaMessage } from 'kafkajs';
import type { Bus, BusMessage, OutgoingRecord, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import { unavailable, type AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { handleKeyed } from './keyed-batch.ts';
import { CommitCoalescer } from './commit-coalescer.ts';
import { recordBytes } from '../../record-batches.ts';
import { delayedAssigner } from './delayed-assigner.ts';
import { hasRetryAfter, retryDelay } from './handler-retry.ts';
import { kafkaLogLevel, pinoLogCreator } from './kafka-log.ts';
import { isRebalance, publishError } from './kafka-errors.ts';
import { kafkaOffsetReader } from './kafka-offset-reader.ts';
import { keyedPartitioner } from './keyed-partitioner.ts';
import { fixKafkajsIdleTimer } from './kafkajs-idle-timer.ts';
import type { OffsetReader } from '../../consumer-lag.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Consumer session timeout: a member silent this long is dropped from its group. @default 6000 */
  sessionTimeoutMs?: number;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /** How long a fetch may wait for data. Short keeps latency low. @default 100 */
  maxWaitTimeMs?: number;
  /**
   * How long a publish waits for others to join it when no produce is in flight.
   * While one is, publishes wait for it instead and go together in the next request. @default 2
   */
  lingerMs?: number;
  /**
   * Produce requests awaiting acknowledgement at most (all topics together: the publishes of one
   * turn to several topics go in one request); publishes made while that many
   * are in flight wait and go together in the next request. 1 grows batches the most; more keeps
   * a slow round trip from adding itself to every publish. @default 2
   */
  maxInFlight?: number;
  /** Records per produce request at most. @default 1000 */
  maxBatch?: number;
  /**
   * Bytes of records per produce request at most, under the broker's max message size: the
   * publishes gathered in one linger are sent in several requests, one after another, when they
   * add up to more. One publish bigger than this goes alone (callers split theirs). @default 524288
   */
  maxBatchBytes?: number;
  /** Backoff between attempts of a failing handler. @default 200 */
  handlerRetryMs?: number;
  /** Where kafkajs' own log lines go too (through `logCreator`); without it kafkajs logs nothing. */
  logger?: Logger;
  /**
   * When above 0, a group leader waits this long before assigning partitions (`delayedAssigner`:
   * the dev broker needs about 300 ms). @default 0 (kafkajs' round robin, no wait)
   */
  assignDelayMs?: number;
  /** Called when a consumer crashed for good (kafkajs will not restart it): the process should stop. */
  onFatal?: (err: unknown) => void;
}

interface Pending {
  topic: string;
  records: OutgoingRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A batch handler's slice: the first of a partition's records, and at most this many. */
const FIRST_SLICE = 10;
const MAX_SLICE = 500;
/** The work a slice is sized to (from the time per record of the partition's slice before). */
const SLICE_MS = 500;

/** The publishes waiting to be produced (every topic), and the produces in flight. */
interface Lane {
  queue: Pending[];
  /** Records in `queue`. */
  queued: number;
  /** Produce requests awaiting their acknowledgement. */
  inFlight: number;
  timer: NodeJS.Timeout | null;
}

/**
 * The bus on Kafka (kafkajs). Producer: acks from all in-sync replicas, bounded retries, a bounded
 * number of produces in flight with the publishes made meanwhile (to any topic) gathered behind them:
 * a router's delivery jobs and realtime events of one batch go in one produce request, not one per
 * topic (a request costs the client and the broker far more than a record in it).
 * Consumers: one per subscription, offsets committed by hand only after the handler (or the
 * batch handler) resolved, each partition strictly in order, several partitions at once.
 */
export class KafkaBus implements Bus {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private readonly lane: Lane = { queue: [], queued: 0, inFlight: 0, timer: null };
  private readonly consumers = new Set<Consumer>();
  /** The slice size each partition's batch handler reached (`handleBatch`), by group, topic and partition. */
  private readonly slices = new Map<string, number>();
  private lastPublishError = 0;
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    fixKafkajsIdleTimer();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: options.logger ? kafkaLogLevel(options.logger.level) : logLevel.NOTHING,
      ...(options.logger ? { logCreator: pinoLogCreator(options.logger) } : {}),
      connectionTimeout: 3000,
      requestTimeout: 10000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  private async ensureProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    if (!this.connecting) {
      const producer = this.kafka.producer({
        createPartitioner: keyedPartitioner,
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      this.connecting = producer
        .connect()
        .then(() => {
          this.producer = producer;
          return producer;
        })
        .finally(() => {
          this.connecting = null;
        });
    }
    return this.connecting;
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (this.closed) throw unavailable('bus is closed');
    if (records.length === 0) return;
    return new Promise<void>((resolve, reject) => {
      const lane = this.lane;
      lane.queue.push({ topic, records, resolve, reject });
      lane.queued += records.length;
      // Behind the produces in flight the records just accumulate: an acknowledgement sends them.
      if (lane.inFlight >= this.maxInFlight) return;
      if (lane.queued >= (this.options.maxBatch ?? 1000)) void this.flush(lane);
      else lane.timer ??= setTimeout(() => void this.flush(lane), this.options.lingerMs ?? 2);
    });
  }

  /**
   * Sends what a topic's lane holds as one more produce in flight; when an acknowledgement comes
   * and records arrived meanwhile, they go at once. At most `maxInFlight` produces at once, so
   * under load the records that arrive during a round trip make the next request (the linger
   * adapts to the load by itself), while a slow round trip does not hold every publish behind
   * a single one.
   */
  private flush(lane: Lane): Promise<void> {
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = null;
    }
    if (lane.queue.length === 0 || lane.inFlight >= this.maxInFlight) return Promise.resolve();
    const batch = lane.queue;
    lane.queue = [];
    lane.queued = 0;
    lane.inFlight++;
    return this.sendWaves(batch).finally(() => {
      lane.inFlight--;
      // What was published during this round trip goes now (callers woken by this
      // acknowledgement may have published too).
      if (lane.queue.length > 0) void this.flush(lane);
    });
  }

  private get maxInFlight(): number {
    return this.options.maxInFlight ?? 2;
  }

  private async sendWaves(batch: Pending[]): Promise<void> {
    // Consecutive waves of whole publishes, each under the byte and record bounds, sent in
    // order: a wave starts only after the one before it is acknowledged, and when a topic's
    // produce fails its later publishes are refused unsent, so no key's records overtake each other.
    const maxBytes = this.options.maxBatchBytes ?? 512 * 1024;
    const maxRecords = this.options.maxBatch ?? 1000;
    const waves: Pending[][] = [];
    let wave: Pending[] = [];
    let bytes = 0;
    let count = 0;
    for (const p of batch) {
      const n = p.records.reduce((sum, r) => sum + recordBytes(r), 0);
      if (wave.length > 0 && (bytes + n > maxBytes || count + p.records.length > maxRecords)) {
        waves.push(wave);
        wave = [];
        bytes = 0;
        count = 0;
      }
      wave.push(p);
      bytes += n;
      count += p.records.length;
    }
    waves.push(wave);
    const failed = new Map<string, AppError>();
    for (const w of waves) {
      const live = w.filter((p) => (failed.has(p.topic) ? void p.reject(failed.get(p.topic)) : true));
      if (live.length === 0) continue;
      const topics = [...new Set(live.map((p) => p.topic))];
      try {
        await this.send(live);
        for (const p of live) p.resolve();
        continue;
      } catch (err) {
        this.lastPublishError = Date.now();
        // kafkajs says whether its failure can pass (a broker away) or not (a record too large).
        const wrapped = publishError(err);
        if (wrapped.retriable || topics.length === 1) {
          for (const t of topics) failed.set(t, wrapped);
          for (const p of live) p.reject(wrapped);
          continue;
        }
      }
      // A refusal of a request carrying several topics: each topic is sent again alone, so that
      // a publish hears its own topic's verdict (one topic's record too large must not fail the
      // others' publishes). A partition the refused request did write gets its records twice:
      // every consumer takes a repeat.
      for (const t of topics) {
        const mine = live.filter((p) => p.topic === t);
        try {
          await this.send(mine);
          for (const p of mine) p.resolve();
        } catch (err) {
          failed.set(t, publishError(err));
          for (const p of mine) p.reject(failed.get(t));
        }
      }
    }
  }

  private async send(wave: Pending[]): Promise<void> {
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const p of wave) {
      const list = byTopic.get(p.topic) ?? [];
      for (const r of p.records) list.push({ key: r.key, value: r.value, headers: r.headers });
      byTopic.set(p.topic, list);
    }
    const producer = await this.ensureProducer();
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const log = this.options.logger?.child({ group: options.group });
    let current: Consumer | null = null;
    let stopping = false;
    /** Topics paused by the caller: kept here, since a restarted or recreated consumer forgets them. */
    const paused = new Set<string>();
    /** This member's partitions, per topic (its last assignment). */
    let assignment: Record<string, number[]> = {};
    // kafkajs refuses pause/seek/resume while it restarts a crashed consumer (no group then): a
    // pause is applied again at the next join; a resume that does not happen leaves the topic to
    // start from its committed offsets, which skips nothing.
    const pauseNow = (consumer: Consumer, topics: string[]) => {
      try {
        consumer.pause(topics.map((topic) => ({ topic })));
      } catch (err) {
        log?.debug({ err, topics }, 'cannot pause now; the next group join will');
      }
    };

    // A consumer kafkajs gave up on (e.g. the broker lost the group) is replaced by a new one,
    // which rejoins and resumes from the committed offsets.
    const replace = async (dead: Consumer) => {
      this.consumers.delete(dead);
      await dead.disconnect().catch(() => undefined);
      for (let attempt = 1; !stopping; attempt++) {
        await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
        if (stopping) return;
        try {
          await start();
          log?.info({ attempt }, 'consumer recreated');
          return;
        } catch (err) {
          log?.warn({ err, attempt }, 'could not recreate the consumer yet');
        }
      }
    };

    const start = async () => {
      const commits = new CommitCoalescer(options.commitIntervalMs ?? 0);
      const consumer = this.kafka.consumer({
        groupId: options.group,
        sessionTimeout: this.options.sessionTimeoutMs ?? 6000,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? 1000,
        maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 100,
        allowAutoTopicCreation: false,
        ...(this.options.assignDelayMs ? { partitionAssigners: [delayedAssigner(this.options.assignDelayMs)] } : {}),
        retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
      });
      current = consumer;
      this.consumers.add(consumer);
      consumer.on(consumer.events.CRASH, (e) => {
        if (e.payload.restart) {
          log?.warn({ err: e.payload.error }, 'consumer crashed; kafkajs restarts it');
          return;
        }
        if (stopping) return;
        log?.error({ err: e.payload.error }, 'consumer crashed for good; replacing it');
        void replace(consumer).catch((err) => this.options.onFatal?.(err));
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        log?.info({ assignment: e.payload.memberAssignment }, 'joined group');
        assignment = e.payload.memberAssignment;
        // Before the new generation's first fetch.
        if (paused.size > 0) pauseNow(consumer, [...paused]);
        options.onAssignment?.(e.payload.memberAssignment);
      });
      try {
        await consumer.connect();
        for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
        await consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: options.concurrency ?? 4,
          eachBatchAutoResolve: false,
          eachBatch: (payload) => this.handleBatch(payload, options, log, () => stopping, commits),
        });
      } catch (err) {
        this.consumers.delete(consumer);
        await consumer.disconnect().catch(() => undefined);
        throw err;
      }
    };

    await start();
    return {
      pause: (topic) => {
        paused.add(topic);
        if (current) pauseNow(current, [topic]);
      },
      resumeAtEnd: async (topic) => {
        if (!paused.has(topic)) return;
        let ends: Map<number, { high: bigint }> | null = null;
        try {
          ends = await this.ends().latestOffsets(topic);
        } catch (err) {
          log?.warn({ err, topic }, 'cannot read the end of the topic; resuming where it paused');
        }
        const consumer = current as Consumer | null;
        if (!paused.delete(topic) || !consumer) return;
        // Applied at the next fetch of each partition, before it asks for records: the watermarks
        // were read after the call, so whatever is published from now on lies at or above them.
        try {
          for (const p of ends ? (assignment[topic] ?? []) : []) {
            const high = ends!.get(p)?.high;
            if (high !== undefined) consumer.seek({ topic, partition: p, offset: high.toString() });
          }
          consumer.resume([{ topic }]);
        } catch (err) {
          log?.warn({ err, topic }, 'cannot resume the topic now; it restarts from its committed offsets');
        }
      },
      stop: async () => {
        stopping = true;
        // disconnect() waits for the batch in hand, which commits, then leaves the group.
        const c = current as Consumer | null;
        if (c) {
          await c.disconnect();
          this.consumers.delete(c);
        }
      },
    };
  }

  /** Handles one fetched batch in order; commits what was handled, and only that. */
  private async handleBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload,
    options: SubscribeOptions,
    log: Logger | undefined,
    stopping: () => boolean,
    commits: CommitCoalescer,
  ) {
    let last: string | null = null;
    const commit = async () => {
      if (last === null) return;
      // With the other partitions' batches of this turn: one request for all of them.
      await commits.commit(batch.topic, batch.partition, (BigInt(last) + 1n).toString(), commitOffsetsIfNecessary);
    };
    const toBus = (m: (typeof batch.messages)[number]): BusMessage => {
      // A plain loop: three arrays per record (entries, map, fromEntries) showed in every consumer.
      const headers: Record<string, string> = {};
      for (const k in m.headers) headers[k] = m.headers[k]?.toString() ?? '';
      return { topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '', headers };
    };
    const gone = () => stopping() || !isRunning() || isStale();
    /** Handles one record, retrying until it succeeds; false when the consumer stops first. */
    const handleOne = async (msg: BusMessage): Promise<boolean> => {
      for (;;) {
        if (gone()) return false;
        try {
          await options.handler(msg);
          return true;
        } catch (err) {
          if (gone()) return false;
          const wait = retryDelay(err, this.options.handlerRetryMs ?? 200);
          if (!hasRetryAfter(err)) log?.warn({ err, topic: msg.topic, partition: msg.partition, offset: msg.offset }, 'handler failed; retrying');
          // Wait in slices, heartbeating, so a long wait does not cost the partition.
          for (let waited = 0; waited < wait && !gone(); waited += 1000) {
            await heartbeat().catch(() => undefined);
            await new Promise((r) => setTimeout(r, Math.min(1000, wait - waited)));
          }
        }
      }
    };

    let rest = batch.messages;
    if (options.batchHandler && rest.length > 0 && !gone()) {
      // The batch in slices of about SLICE_MS of work each (sized from the slice before), so a
      // rebalance the heartbeat hears of waits for one slice, not for the whole fetch: a broker
      // answers a fetch with up to a megabyte per partition, and a slow handler would otherwise
      // hold the whole group for as long as that takes. On failure, the records not yet handled
      // go one at a time below.
      let rebalancing = false;
      const beat = setInterval(() => void heartbeat().catch((err: unknown) => (rebalancing ||= isRebalance(err))), 1000);
      const sliceKey = `${options.group}\n${batch.topic}\n${batch.partition}`;
      let size = this.slices.get(sliceKey) ?? FIRST_SLICE;
      try {
        while (rest.length > 0) {
          if (last !== null && (rebalancing || gone())) break;
          const slice = rest.slice(0, size);
          const started = performance.now();
          await options.batchHandler(slice.map(toBus));
          last = slice[slice.length - 1]!.offset;
          resolveOffset(last);
          rest = rest.slice(slice.length);
          size = Math.max(1, Math.min(MAX_SLICE, Math.floor((SLICE_MS * slice.length) / Math.max(1, performance.now() - started))));
          this.slices.set(sliceKey, size);
        }
        await commit();
        return;
      } catch (err) {
        log?.debug({ err, topic: batch.topic, partition: batch.partition, records: rest.length }, 'batch failed; handling its records one by one');
      } finally {
        clearInterval(beat);
      }
    }

    const width = options.keyConcurrency ?? 1;
    if (width > 1) {
      // Keys of the batch at once, each key in order; commit the prefix finished without a gap.
      const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
      try {
        const msgs = rest.map(toBus);
        const finished = await handleKeyed(msgs, width, handleOne);
        if (finished > 0) {
          last = msgs[finished - 1]!.offset;
          resolveOffset(last);
        }
      } finally {
        clearInterval(beat);
      }
      await commit();
      return;
    }
    let lastBeat = Date.now();
    for (const m of rest) {
      // A record is retried until it succeeds: nothing behind it on the partition overtakes it.
      if (!(await handleOne(toBus(m)))) break;
      resolveOffset(m.offset);
      last = m.offset;
      if (Date.now() - lastBeat > 500) {
        await heartbeat();
        lastBeat = Date.now();
      }
    }
    await commit();
  }

  /** The reader of topics' ends for `resumeAtEnd`: one admin connection, opened when first needed. */
  private endsReader: OffsetReader | null = null;
  private ends(): OffsetReader {
    return (this.endsReader ??= this.offsetReader());
  }

  /** Kafka admin client for lag and group introspection. */
  admin() {
    return this.kafka.admin();
  }

  /** A reader of this cluster's committed and latest offsets (its own admin client; the caller closes it). */
  offsetReader(): OffsetReader {
    return kafkaOffsetReader(this.admin());
  }

  async healthy(): Promise<boolean> {
    if (this.closed) return false;
    return Date.now() - this.lastPublishError > 5000;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush(this.lane);
    // What is still queued behind produces in flight goes once they are acknowledged.
    while (this.lane.inFlight > 0 || this.lane.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    await this.producer?.disconnect().catch(() => undefined);
    await this.endsReader?.close();
  }
}

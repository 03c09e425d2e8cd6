/** A record to publish. `key` chooses the partition, so records with one key stay in order. */
export interface OutgoingRecord {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

/** A record as a consumer sees it. */
export interface BusMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface SubscribeOptions {
  /** Consumer group: each record is handled by one member of the group. */
  group: string;
  topics: string[];
  /**
   * Handles one record. The record counts as consumed (its offset is committed) only after this
   * resolves; when it throws, the same record is handed again after a backoff (the error's
   * numeric `retryAfterMs` when it has one, at most 30 s) and nothing behind it on its partition
   * (with `keyConcurrency` > 1: nothing of its key) overtakes it.
   */
  handler: (message: BusMessage) => Promise<void>;
  /**
   * Handles a whole fetched batch of one partition at once, in offset order (one store
   * transaction, one publish, one offset commit for the lot). When it throws, the same batch is
   * handed to `handler` one record at a time instead, so a poison record is set aside alone and a
   * failing one is retried in place. It must therefore be safe to repeat: a record it handled
   * (wholly or in part) may be handed again to `handler`. @default none (`handler` per record)
   */
  batchHandler?: (messages: BusMessage[]) => Promise<void>;
  /** How many partitions are handled at once; each partition stays in order. @default 4 */
  concurrency?: number;
  /**
   * Within one partition, how many keys are handled at once. Above 1, only records of the same
   * key keep their order (a record that keeps failing holds up its key, not the partition), and
   * offsets are committed up to the first record not yet handled. @default 1 (the partition in order)
   */
  keyConcurrency?: number;
  /**
   * Where a group with no committed offset starts: at the oldest record kept (true), or at the
   * records published from now on (false: push gateways, whose clients catch up from the store).
   * @default true
   */
  fromBeginning?: boolean;
  /**
   * Commit a partition's offset at most once per this many ms (Kafka): the records handled since
   * its last commit are handed again after a rebalance or a restart of the consumer. Only for
   * consumers that a repeat does not harm and that skip most records (push gateways, whose group
   * is their own); the in-memory bus ignores it. @default 0 (a commit after every batch)
   */
  commitIntervalMs?: number;
  /** Called whenever the group hands this member its partitions (after every rebalance). */
  onAssignment?: (assignment: Record<string, number[]>) => void;
}

export interface Subscription {
  /** Finishes the record in hand, commits, and leaves the group. */
  stop(): Promise<void>;
  /**
   * Stops fetching `topic` (one of the subscription's topics; the others go on) until
   * `resumeAtEnd`: a consumer with nobody to hand its records to (a push gateway without
   * connections) then costs neither the fetches nor the decoding. Records handled already, or in
   * hand, are not taken back.
   */
  pause(topic: string): void;
  /**
   * Fetches a paused `topic` again, from its end: what was published to it before the call may be
   * skipped for good; everything published after the returned promise resolved is handed. When the
   * end cannot be read (a broker that does not answer) it resumes where it paused instead, skipping
   * nothing. Does nothing for a topic that is not paused.
   */
  resumeAtEnd(topic: string): Promise<void>;
}

/** The message bus between the services (Kafka in production, in-memory on one machine). */
export interface Bus {
  /** Publishes records; resolves only once the bus holds them durably (acks from all replicas). */
  publish(topic: string, records: OutgoingRecord[]): Promise<void>;
  /** Joins a consumer group and handles records until the subscription is stopped. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Whether the bus can currently take writes (for readiness). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

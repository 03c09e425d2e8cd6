import { randomUUID } from 'node:crypto';
import { types } from 'cassandra-driver';
import type { CassandraStoreTuning } from '../../../services/core/adapters/cassandra/context.ts';
import { cassandraStores } from '../../../services/core/adapters/cassandra/open-cassandra-stores.ts';
import { createTables } from '../../../services/core/adapters/cassandra/schema-setup.ts';
import type { CqlSession } from '../../../services/core/adapters/cassandra/session.ts';
import type { Stores } from '../../../services/core/ports/stores.ts';
import { CqlEmulator, type CqlEmulatorOptions } from './cql-emulator.ts';

// What the Cassandra adapter's tests share: an emulated node with the schema, sessions that
// record or fail statements, and a conversation to send messages in.

/** The options of a plain statement at LOCAL_QUORUM. */
export const QUORUM = { prepare: true, consistency: types.consistencies.localQuorum };

/** A bigint as the driver gives it. */
export const long = (n: number) => types.Long.fromNumber(n);

/** An emulated node with every table of the store. */
export async function emulatorWithSchema(now?: () => number, options?: CqlEmulatorOptions): Promise<CqlEmulator> {
  const emulator = new CqlEmulator(now, options);
  await createTables(emulator);
  return emulator;
}

/** The stores on a session (a new connection to the emulator by default); webhooks see history at once. */
export function emulatedStores(from: CqlEmulator | CqlSession, tuning: CassandraStoreTuning = {}): Stores {
  const session = from instanceof CqlEmulator ? from.connect() : from;
  return cassandraStores(session, { historySettleMs: 0, ...tuning });
}

/** A session that records every statement it is sent. */
export function recorded(emulator: CqlEmulator) {
  const sent: string[] = [];
  const session: CqlSession = {
    execute: (q, p, o) => (sent.push(q), emulator.execute(q, p, o)),
    batch: (q, o) => (sent.push(...q.map((x) => x.query)), emulator.batch(q, o)),
    shutdown: () => emulator.shutdown(),
  };
  return { session, sent };
}

/** A session that fails the first `times` statements `when` picks (a process that stops there). */
export function crashing(session: CqlSession, when: (query: string) => boolean, times = 1): CqlSession {
  let left = times;
  const trip = (query: string) => {
    if (left > 0 && when(query)) {
      left--;
      throw new Error(`injected crash before: ${query.slice(0, 40)}`);
    }
  };
  return {
    execute: async (q, p, o) => {
      trip(q);
      return session.execute(q, p, o);
    },
    batch: async (qs, o) => {
      for (const q of qs) trip(q.query);
      return session.batch(qs, o);
    },
    shutdown: () => session.shutdown(),
  };
}

/**
 * A new conversation of `size` members (a group above two) and `accept`, which stores a message
 * from the first member on `channels`, created now or at `created` (epoch ms).
 */
export async function conversation(stores: Stores, size: number, options: { channels?: string[]; at?: number } = {}) {
  const members = Array.from({ length: size }, () => randomUUID());
  const conversation_id = randomUUID();
  const created_at = new Date(options.at ?? Date.now()).toISOString();
  const type = size > 2 ? 'group' : 'private';
  await stores.conversations.createConversation({ conversation_id, type, members, name: size > 2 ? 'g' : null, metadata: null, created_at });
  const accept = async (created = Date.now()) => {
    const message_id = randomUUID();
    await stores.messages.acceptMessage({
      message_id, conversation_id, sender_id: members[0]!, payload: { type: 'text', text: message_id }, channels: options.channels ?? ['all'],
      metadata: null, body_hash: 'h', trace_id: 't', created_at: new Date(created).toISOString(),
    });
    return message_id;
  };
  return { members, conversation_id, accept };
}

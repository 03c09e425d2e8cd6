import { createHash, randomUUID } from 'node:crypto';
import type { Bus } from '../core/ports/bus.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { FileStore } from '../core/ports/file-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { Payload } from '../core/domain/types.ts';
import { AppError, conflict, notFound } from '../core/errors.ts';
import { publishAccepted } from '../core/publish-accepted.ts';
import type { Logger } from '../core/logger.ts';

export interface SendMessageInput {
  sender_id: string;
  message_id?: string;
  conversation_id: string;
  channels: string[];
  payload: Payload;
  metadata?: Record<string, unknown> | null;
  trace_id: string;
  /**
   * Whether the client asked for this request to be traced (`traceRequested`): its acceptance is
   * logged at info, any other at debug. @default false
   */
  traced?: boolean;
}

export interface SendMessageResult {
  status: 'accepted';
  message_id: string;
  conversation_id: string;
  accepted_at: string;
  /** False when this was a retry of a message already accepted. */
  created: boolean;
}

export interface SendMessageDeps {
  conversations: ConversationStore;
  messages: MessageStore;
  /** Where a `file` payload's file is looked up. */
  files: Pick<FileStore, 'getFile'>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /**
   * How long a request waits for the bus before answering anyway: the message is durable in the
   * store already and the relay publishes what is left. @default 1000
   */
  publishWaitMs?: number;
  /**
   * The rate limits of a send (they throw to refuse), called before anything is stored with
   * whether the sender is a member: a sender's own limit counts every send, the conversation's
   * only a member's, so that no outsider can spend a conversation's budget.
   */
  admit?: (senderId: string, conversationId: string, member: boolean) => Promise<void>;
  /** Called with the publish time in seconds, or with an error when the bus refused. */
  onPublish?: (seconds: number, error?: unknown) => void;
}

/**
 * Accepts a message: the sender must be a member; the message is stored durably first (the store
 * is the outbox), then published for routing. If publishing fails, the router's relay publishes
 * it later, so an accepted message is never lost. The same `message_id` with the same body is a
 * harmless retry; with another body it is a conflict.
 */
export async function sendMessage(deps: SendMessageDeps, input: SendMessageInput): Promise<SendMessageResult> {
  const member = await deps.conversations.isMember(input.conversation_id, input.sender_id);
  await deps.admit?.(input.sender_id, input.conversation_id, member);
  if (!member) throw notFound('conversation');
  if (input.payload.type === 'file') await checkFile(deps.files, input.sender_id, input.conversation_id, input.payload.file_id);

  const body_hash = bodyHash(input);
  const message_id = input.message_id ?? randomUUID();
  const { message, created } = await deps.messages.acceptMessage({
    message_id,
    conversation_id: input.conversation_id,
    sender_id: input.sender_id,
    payload: input.payload,
    channels: input.channels,
    metadata: input.metadata ?? null,
    body_hash,
    trace_id: input.trace_id,
    created_at: isoAt(deps.clock.now()),
  });
  if (!created && (message.body_hash !== body_hash || message.sender_id !== input.sender_id)) {
    throw conflict(`message_id ${message_id} was already used for a different message`);
  }
  if (created) deps.logger[input.traced ? 'info' : 'debug']({ message_id, conversation_id: message.conversation_id, trace_id: message.trace_id }, 'message accepted');
  await publishAccepted(deps, message);
  return {
    status: 'accepted',
    message_id: message.message_id,
    conversation_id: message.conversation_id,
    accepted_at: message.created_at,
    created,
  };
}

/**
 * A file may be sent only by its uploader (anyone else's file answers 404, as if it did not
 * exist), to the conversation it was uploaded for, and once it is `ready` (verified): 422 otherwise.
 */
async function checkFile(files: Pick<FileStore, 'getFile'>, senderId: string, conversationId: string, fileId: string): Promise<void> {
  const file = await files.getFile(fileId);
  if (!file || file.uploader_id !== senderId) throw notFound('file');
  if (file.conversation_id !== conversationId) {
    throw new AppError('file_wrong_conversation', `file ${fileId} was uploaded for another conversation: upload it to this one`, { status: 422 });
  }
  if (file.state !== 'ready') {
    throw new AppError('file_not_ready', `file ${fileId} is ${file.state}: only a ready (uploaded and verified) file can be sent`, { status: 422, extensions: { state: file.state } });
  }
}

/** A stable fingerprint of what the sender asked for (key order does not matter). */
export function bodyHash(input: Pick<SendMessageInput, 'conversation_id' | 'channels' | 'payload' | 'metadata'>): string {
  const canonical = stableStringify({
    conversation_id: input.conversation_id,
    channels: input.channels,
    payload: input.payload,
    metadata: input.metadata ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

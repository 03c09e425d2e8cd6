import { AppError } from './errors.ts';

/**
 * The error a store throws when a write would take an owner past a cap (identities per user and
 * channel, members per group, webhooks per user). The store decides it in the same transaction or
 * lightweight-transaction claim as the write, so parallel writes at the limit cannot overshoot it.
 * It leaves the API as 409: the caller must remove something first.
 */
export class CapReached extends AppError {
  /** The cap that was reached. */
  readonly limit: number;
  /** How many items the owner holds (at least `limit`). */
  readonly count: number;

  constructor(code: string, limit: number, count: number, message: string, status = 409) {
    super(code, message, { status });
    this.limit = limit;
    this.count = count;
  }
}

/** A group that already has `count` members. */
export function tooManyMembers(conversationId: string, count: number, max: number): CapReached {
  return new CapReached('too_many_members', max, count, `conversation ${conversationId} already has ${count} members, the most a group may have (${max})`);
}

/** A user who already has `count` identities on the channel. */
export function tooManyIdentities(userId: string, channel: string, count: number, max: number): CapReached {
  return new CapReached('too_many_identities', max, count, `user ${userId} already has ${count} ${channel} identities, the most allowed (${max}): unlink one first`);
}

/** A user who already has `count` webhooks. */
export function tooManyWebhooks(ownerId: string, count: number, max: number): CapReached {
  return new CapReached('too_many_webhooks', max, count, `user ${ownerId} has ${count} webhooks, the most allowed is ${max}: delete one first`);
}

/**
 * A user who already has `count` open upload sessions. Unlike the other caps it leaves the API as
 * 429: the sessions end on their own (completed or expired), so trying later helps.
 */
export function tooManyUploads(uploaderId: string, count: number, max: number): CapReached {
  return new CapReached('too_many_uploads', max, count, `user ${uploaderId} has ${count} open upload sessions, the most allowed is ${max}: complete or abort one first`, 429);
}

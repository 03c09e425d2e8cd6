import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Contact, ExternalChannel } from '../core/domain/types.ts';
import { AppError } from '../core/errors.ts';
import { CapReached, tooManyIdentities } from '../core/cap-reached.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Bus } from '../core/ports/bus.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import type { ContactStore } from '../core/ports/contact-store.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import { mergeContact } from '../core/inbound/merge-contact.ts';
import { IDENTITY_CODE_REFERENCE, type IdentityCodeJob } from '../core/records.ts';
import { deliveryTopic } from '../core/topics.ts';
import type { Principal } from './auth.ts';
import { requireUser } from './conversations.ts';
import { identityJson, pendingIdentityJson } from './views.ts';

export interface IdentityVerificationDeps {
  users: UserStore;
  /** A contact holding the address is merged into the user who verifies it. */
  contacts: ContactStore;
  conversations: ConversationStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'identityVerification' | 'identityCodeTtlMs' | 'identityCodeMaxTries' | 'jwtSecret' | 'maxIdentitiesPerChannel'>;
}

/**
 * The code's hash, keyed with a key derived from the API's secret: six digits are a million
 * guesses, so a plain hash would give a code away to anyone who reads the store.
 */
function codeHash(secret: string, userId: string, channel: ExternalChannel, address: string, code: string): string {
  const key = createHmac('sha256', secret).update('chat4all identity codes').digest();
  return createHmac('sha256', key).update(`${userId}\n${channel}\n${address}\n${code}`).digest('base64url');
}

/**
 * Makes a link active, with the cap on identities per channel decided by the store in the same
 * step as the write (parallel links at the limit never overshoot it).
 */
async function activate(deps: IdentityVerificationDeps, identity: { user_id: string; channel: ExternalChannel; address: string; linked_at: string }) {
  const max = deps.config.maxIdentitiesPerChannel;
  const contact = await contactHolding(deps, identity.channel, identity.address);
  const linked = contact ? merge(deps, contact, identity, max) : deps.users.linkIdentity(identity, { max });
  return linked.catch((err: unknown) => {
    if (err instanceof CapReached) {
      throw new AppError('too_many_identities', `you already have ${max} ${identity.channel} identities, the most allowed (MAX_IDENTITIES_PER_CHANNEL): unlink one first`, {
        status: 409,
        errors: [{ field: 'address', message: `at most ${max} ${identity.channel} identities per user` }],
      });
    }
    throw err;
  });
}

/**
 * The address wrote to us before and is a contact: the contact becomes this user, history and all.
 * The cap is looked at before the merge starts (a merge, once begun, is finished by the next
 * inbound message whatever the cap), and again, atomically, when the address moves.
 */
async function merge(deps: IdentityVerificationDeps, contact: Contact, identity: { user_id: string; channel: ExternalChannel; linked_at: string }, max: number) {
  const held = (await deps.users.listIdentities([identity.user_id])).filter((i) => i.channel === identity.channel).length;
  if (held >= max) throw tooManyIdentities(identity.user_id, identity.channel, held, max);
  await mergeContact(deps, contact, identity.user_id, identity.linked_at, { max });
  return (await deps.users.findIdentity(contact.channel, contact.address))!;
}

/** The contact that holds an address (not merged yet); null when a user or nobody holds it. */
async function contactHolding(deps: Pick<IdentityVerificationDeps, 'users' | 'contacts'>, channel: ExternalChannel, address: string) {
  const holder = await deps.users.findIdentity(channel, address);
  if (!holder) return null;
  const contact = await deps.contacts.getContact(holder.user_id);
  return contact && contact.merged_into === null ? contact : null;
}

/** Every refusal of a code looks alike: it never tells whether someone else holds the address. */
const invalidCode = (detail = 'the code is wrong, expired or used up: link the address again for a new one') =>
  new AppError('invalid_code', detail, { status: 400, errors: [{ field: 'code', message: 'not a valid code for this link' }] });

/**
 * Links an address to the caller. With verification on (the default) the link is pending and a
 * one-time code goes out through that channel (a text the connector sends); linking again sends
 * a fresh code. An address someone else holds gets the very same answer, but no code is sent:
 * the caller cannot learn who holds it, and the holder's number gets no messages from strangers.
 * An address the caller already holds answers the identity. With verification off (tests only)
 * the link is active at once, as before.
 */
export async function linkIdentity(deps: IdentityVerificationDeps, caller: Principal, input: { channel: ExternalChannel; address: string }) {
  const me = requireUser(caller);
  const now = deps.clock.now();
  if (deps.config.identityVerification === 'off') {
    return identityJson(await activate(deps, { user_id: me, ...input, linked_at: isoAt(now) }));
  }
  const holder = await deps.users.findIdentity(input.channel, input.address);
  if (holder?.user_id === me) return identityJson(holder);
  // A contact (someone who wrote from the address) is no owner: the code goes out, and verifying merges it.
  const claimable = !holder || (await contactHolding(deps, input.channel, input.address)) !== null;

  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const challenge = {
    user_id: me,
    ...input,
    code_hash: codeHash(deps.config.jwtSecret, me, input.channel, input.address, code),
    created_at: isoAt(now),
    expires_at: isoAt(now + deps.config.identityCodeTtlMs),
    tries_left: deps.config.identityCodeMaxTries,
  };
  await deps.users.putIdentityChallenge(challenge);
  if (claimable) {
    const minutes = Math.round(deps.config.identityCodeTtlMs / 60_000);
    const job: IdentityCodeJob = {
      kind: 'identity-code',
      channel: input.channel,
      to: input.address,
      text: `Your Chat4All code is ${code}. It links this ${input.channel === 'whatsapp' ? 'number' : 'account'} to your Chat4All account and expires in ${minutes} minute${minutes === 1 ? '' : 's'}. If you did not ask for it, ignore this message.`,
      reference: `${IDENTITY_CODE_REFERENCE}${randomUUID()}`,
      expires_at: challenge.expires_at,
    };
    await deps.bus.publish(deliveryTopic(input.channel), [{ key: input.address, value: JSON.stringify(job) }]);
  }
  return pendingIdentityJson(challenge);
}

/**
 * Activates a pending link with its code. Each try is spent before the code is compared (so
 * parallel guesses cannot exceed the limit), an expired code is refused, and a code is used once.
 */
export async function verifyIdentity(deps: IdentityVerificationDeps, caller: Principal, channel: ExternalChannel, address: string, code: string) {
  const me = requireUser(caller);
  const pending = await deps.users.spendIdentityChallengeTry(me, channel, address);
  if (!pending) {
    // Verifying again an address already linked to you is harmless.
    const holder = await deps.users.findIdentity(channel, address);
    if (holder?.user_id === me) return identityJson(holder);
    throw invalidCode();
  }
  const now = deps.clock.now();
  if (now >= Date.parse(pending.expires_at)) {
    await deps.users.deleteIdentityChallenge(me, channel, address);
    throw invalidCode('the code has expired: link the address again for a new one');
  }
  const expected = Buffer.from(pending.code_hash);
  const given = Buffer.from(codeHash(deps.config.jwtSecret, me, channel, address, code));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    if (pending.tries_left === 0) {
      await deps.users.deleteIdentityChallenge(me, channel, address);
      throw invalidCode('wrong code, and no tries are left: link the address again for a new code');
    }
    throw invalidCode(`wrong code: ${pending.tries_left} ${pending.tries_left === 1 ? 'try' : 'tries'} left`);
  }
  // Whoever deletes it uses it: a second request with the same code finds nothing.
  if (!(await deps.users.deleteIdentityChallenge(me, channel, address))) throw invalidCode();
  try {
    return identityJson(await activate(deps, { user_id: me, channel, address, linked_at: isoAt(now) }));
  } catch (err) {
    // Someone else verified the address in the meantime; say no more than that it cannot be linked.
    if (err instanceof AppError && err.code === 'conflict') throw new AppError('conflict', `this ${channel} address cannot be linked to you`, { status: 409 });
    throw err;
  }
}

/** The caller's identities: active ones, then links waiting for their code. */
export async function listIdentities(deps: Pick<IdentityVerificationDeps, 'users'>, caller: Principal) {
  const me = requireUser(caller);
  const [active, pending] = await Promise.all([deps.users.listIdentities([me]), deps.users.listIdentityChallenges(me)]);
  return [...active.map(identityJson), ...pending.map(pendingIdentityJson)];
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliveryTopic } from '../core/topics.ts';
import type { IdentityCodeJob } from '../core/records.ts';
import { startTestApi, type TestApi } from './test-api.ts';
import { createLogger } from '../core/logger.ts';
import { acceptInbound } from '../core/inbound/accept-inbound.ts';

describe('identity verification (IDENTITY_VERIFICATION=on)', () => {
  let api: TestApi;
  const codes: IdentityCodeJob[] = [];
  let n = 0;
  const phone = () => `+55119${Date.now() % 1_000_000}${String(++n).padStart(3, '0')}`;
  const link = (token: string, address: string) => api.request('POST', '/v1/users/me/identities', { token, body: { channel: 'whatsapp', address } });
  const verify = (token: string, address: string, code: string) =>
    api.request('POST', `/v1/users/me/identities/whatsapp/${encodeURIComponent(address)}/verify`, { token, body: { code } });
  /** The code the platform sent to an address (what the connector would text). */
  const codeFor = async (address: string) => {
    for (let i = 0; i < 100; i++) {
      const job = [...codes].reverse().find((c) => c.to === address);
      if (job) return /code is (\d{6})/.exec(job.text)![1]!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no code sent to ${address}`);
  };
  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  before(async () => {
    api = await startTestApi({ identityVerification: 'on', identityCodeTtlMs: 60_000, identityCodeMaxTries: 3 });
    await api.bus.subscribe({
      group: 'test-codes',
      topics: [deliveryTopic('whatsapp')],
      fromBeginning: true,
      handler: async (m) => void codes.push(JSON.parse(m.value) as IdentityCodeJob),
    });
  });
  after(() => api.close());

  it('a link is pending until its code comes back; a pending link is nobody’s address', async () => {
    const u = await api.user();
    const address = phone();
    const pending = await link(u.token, address);
    assert.equal(pending.status, 201, pending.text);
    assert.equal(pending.body.verified, false);
    assert.ok(pending.body.expires_at);
    const code = await codeFor(address);
    const job = [...codes].reverse().find((c) => c.to === address)!;
    assert.deepEqual([job.kind, job.channel], ['identity-code', 'whatsapp']);
    assert.match(job.reference, /^identity-code:/);
    // Routing asks the store who holds an address: nobody yet, so nothing is delivered there.
    assert.equal(await api.stores.users.findIdentity('whatsapp', address), null);
    const listed = await api.request('GET', '/v1/users/me/identities', { token: u.token });
    assert.deepEqual(listed.body.identities.map((i: { address: string; verified: boolean }) => [i.address, i.verified]), [[address, false]]);
    assert.equal(JSON.stringify(listed.body).includes(code), false, 'the code is never shown');

    const ok = await verify(u.token, address, code);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.verified, true);
    assert.equal((await api.stores.users.findIdentity('whatsapp', address))?.user_id, u.user_id);
    // Single use: after unlinking, the old code does not link it again.
    assert.equal((await api.request('DELETE', `/v1/users/me/identities/whatsapp/${encodeURIComponent(address)}`, { token: u.token })).status, 204);
    const again = await verify(u.token, address, code);
    assert.equal(again.status, 400);
    assert.match(again.headers.get('content-type') ?? '', /problem\+json/);
  });

  it('counts tries: wrong codes say how many are left, then even the right one is refused', async () => {
    const u = await api.user();
    const address = phone();
    await link(u.token, address);
    const code = await codeFor(address);
    const first = await verify(u.token, address, wrong(code));
    assert.equal(first.status, 400);
    assert.match(first.body.detail, /2 tries left/);
    await verify(u.token, address, wrong(code));
    const last = await verify(u.token, address, wrong(code));
    assert.match(last.body.detail, /no tries are left/);
    assert.equal((await verify(u.token, address, code)).status, 400);
    assert.equal(await api.stores.users.findIdentity('whatsapp', address), null);
    // Linking again sends a fresh code with fresh tries.
    await link(u.token, address);
    const fresh = await codeFor(address);
    assert.equal((await verify(u.token, address, fresh)).status, 200);
  });

  it('refuses an expired code', async () => {
    const u = await api.user();
    const address = phone();
    await link(u.token, address);
    const code = await codeFor(address);
    api.advanceClock(61_000);
    const late = await verify(u.token, address, code);
    assert.equal(late.status, 400);
    assert.match(late.body.detail, /expired/);
    assert.equal(await api.stores.users.findIdentity('whatsapp', address), null);
  });

  it('never tells who holds an address: the same answer, and no code goes to the holder', async () => {
    const [holder, other] = [await api.user(), await api.user()];
    const [held, free] = [phone(), phone()];
    await link(holder.token, held);
    assert.equal((await verify(holder.token, held, await codeFor(held))).status, 200);
    const sentBefore = codes.length;
    const [a, b] = [await link(other.token, held), await link(other.token, free)];
    assert.deepEqual([a.status, b.status], [201, 201]);
    assert.deepEqual(Object.keys(a.body).sort(), Object.keys(b.body).sort());
    assert.deepEqual([a.body.verified, b.body.verified], [false, false]);
    await codeFor(free);
    assert.equal(codes.slice(sentBefore).filter((c) => c.to === held).length, 0, 'no code to the holder’s number');
    const guessHeld = await verify(other.token, held, '123456');
    const guessFree = await verify(other.token, free, wrong(await codeFor(free)));
    assert.deepEqual([guessHeld.status, guessFree.status], [400, 400]);
    assert.equal(guessHeld.body.title, guessFree.body.title);
    assert.equal((await api.stores.users.findIdentity('whatsapp', held))?.user_id, holder.user_id);
    // A code that is not 6 digits is a validation error like any other.
    assert.equal((await verify(other.token, free, 'abc')).status, 400);
  });

  it('verifying an address a contact wrote from merges the contact into the user, keeping its history', async () => {
    const [owner, maria] = [await api.user('owner'), await api.user('maria')];
    const address = phone();
    const inbound = {
      ...api.stores, bus: api.bus, clock: { now: () => Date.now() }, logger: createLogger('test', 'silent'), publishWaitMs: 0,
      settings: { defaultMembers: { whatsapp: [owner.username] }, replyWindowMs: 86_400_000 },
    };
    const first = await acceptInbound(inbound, {
      channel: 'whatsapp', from: address, profile_name: 'Maria S.', provider_message_id: `wamid.${address}`,
      provider_timestamp: '2026-12-03T09:59:59Z', payload: { type: 'text', text: 'olá' },
    });
    const seenByOwner = await api.request('GET', `/v1/conversations/${first.conversation_id}`, { token: owner.token });
    assert.equal(seenByOwner.status, 200, seenByOwner.text);
    assert.deepEqual(seenByOwner.body.contacts, [{ contact_id: first.sender_id, channel: 'whatsapp', address, display_name: 'Maria S.' }]);
    const asContact = await api.request('GET', `/v1/messages/${first.message_id}`, { token: owner.token });
    assert.deepEqual(
      [asContact.body.sender_id, asContact.body.sender_kind, asContact.body.sender_name, asContact.body.provider_timestamp, asContact.body.inbound_channel],
      [first.sender_id, 'contact', 'Maria S.', '2026-12-03T09:59:59Z', 'whatsapp'],
    );

    // The contact holds the address, but it is no owner: the code goes out, and verifying merges it.
    assert.equal((await link(maria.token, address)).status, 201);
    const ok = await verify(maria.token, address, await codeFor(address));
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api.stores.users.findIdentity('whatsapp', address))?.user_id, maria.user_id);
    assert.equal((await api.stores.contacts.getContact(first.sender_id))?.merged_into, maria.user_id);

    const seenByMaria = await api.request('GET', `/v1/messages/${first.message_id}`, { token: maria.token });
    assert.equal(seenByMaria.status, 200, 'the user joined the contact’s conversation and sees its history');
    assert.deepEqual(
      [seenByMaria.body.sender_id, seenByMaria.body.sender_kind, seenByMaria.body.sender_name, seenByMaria.body.sender_merged_into],
      [first.sender_id, 'contact', maria.username, maria.user_id],
    );
    const conversation = await api.request('GET', `/v1/conversations/${first.conversation_id}`, { token: owner.token });
    assert.deepEqual(conversation.body.members.sort(), [owner.user_id, maria.user_id].sort());
    assert.deepEqual(conversation.body.contacts, []);
  });

  it('refuses a message whose metadata claims to be inbound', async () => {
    const [a, b] = [await api.user(), await api.user()];
    const c = await api.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', members: [b.user_id] } });
    const sent = await api.request('POST', '/v1/messages', {
      token: a.token,
      body: { conversation_id: c.body.conversation_id, payload: { type: 'text', text: 'hi' }, metadata: { inbound: { channel: 'whatsapp' } } },
    });
    assert.equal(sent.status, 400, sent.text);
    assert.match(sent.text, /reserved/);
  });
});

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../adapters/sqlite/open-sqlite-stores.ts';
import { InMemoryBus } from '../adapters/in-memory-bus.ts';
import { createLogger } from '../logger.ts';
import type { Stores } from '../ports/stores.ts';
import { TOPICS } from '../topics.ts';
import { acceptInbound, inboundMessageId, type AcceptInboundDeps, type InboundMessage } from './accept-inbound.ts';
import { inboundOrigin } from './inbound-origin.ts';
import { mergeContact } from './merge-contact.ts';

const HOUR = 3_600_000;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function depsOn(stores: Stores, clock: { now: () => number }, bus = new InMemoryBus(4, 10)): AcceptInboundDeps {
  return {
    users: stores.users,
    contacts: stores.contacts,
    conversations: stores.conversations,
    messages: stores.messages,
    deliveries: stores.deliveries,
    bus,
    clock,
    logger: createLogger('test', 'silent'),
    settings: { defaultMembers: { whatsapp: ['alice'], instagram: ['bob', 'alice'] }, replyWindowMs: 24 * HOUR },
  };
}

async function setup(stores: Stores = openSqliteStores(':memory:')) {
  const clock = { t: Date.parse('2026-12-03T10:00:00Z'), now() { return this.t; } };
  const user = (username: string) => stores.users.createUser({ user_id: `u-${username}`, username, password_hash: 'x', created_at: '2026-12-01T00:00:00Z' });
  const alice = await user('alice');
  const bob = await user('bob');
  return { stores, clock, deps: depsOn(stores, clock), alice, bob, user };
}

let n = 0;
const inbound = (from: string, over: Partial<InboundMessage> = {}): InboundMessage => ({
  channel: 'whatsapp',
  from,
  profile_name: 'Maria',
  provider_message_id: `wamid.${++n}`,
  provider_timestamp: '2026-12-03T09:59:59Z',
  payload: { type: 'text', text: `hi ${n}` },
  ...over,
});

/** Routes a message to `address` as the router would and records the provider's acceptance of that delivery. */
async function deliverTo(stores: Stores, conversation_id: string, sender_id: string, recipient_id: string, address: string, at: string) {
  const message_id = `out-${++n}`;
  await stores.messages.acceptMessage({ message_id, conversation_id, sender_id, payload: { type: 'text', text: 'out' }, channels: ['whatsapp'], metadata: null, body_hash: 'h', trace_id: 't', created_at: at });
  const { deliveries } = await stores.messages.routeMessage(message_id, [{ recipient_id, channel: 'whatsapp', address }], at);
  assert.equal(await stores.deliveries.recordProviderRef(deliveries[0]!.delivery_id, `wamid.out-${n}`), true);
}

describe('acceptInbound', () => {
  it('makes an unknown address a contact, named from its profile, in a conversation with the default members', async () => {
    const { stores, deps, alice } = await setup();
    const first = await acceptInbound(deps, inbound('5511900000001'));
    assert.equal(first.created, true);
    const contact = await stores.contacts.getContact(first.sender_id);
    assert.equal(contact?.display_name, 'Maria');
    assert.equal(contact?.address, '5511900000001');
    assert.equal(await stores.users.getUser(first.sender_id), null, 'a contact is no user: it cannot log in');
    assert.equal((await stores.users.findIdentity('whatsapp', '5511900000001'))?.user_id, first.sender_id);
    assert.deepEqual((await stores.conversations.getConversation(first.conversation_id))?.members, [first.sender_id, alice.user_id]);

    const second = await acceptInbound(deps, inbound('5511900000001'));
    assert.equal(second.sender_id, first.sender_id, 'a later message is from the same contact');
    assert.equal(second.conversation_id, first.conversation_id, 'and goes to the same conversation');

    await acceptInbound(deps, inbound('5511900000001', { profile_name: 'Maria Silva' }));
    assert.equal((await stores.contacts.getContact(first.sender_id))?.display_name, 'Maria Silva', 'the name follows the profile');
    await acceptInbound(deps, inbound('5511900000001', { profile_name: undefined }));
    assert.equal((await stores.contacts.getContact(first.sender_id))?.display_name, 'Maria Silva', 'a message without a profile keeps it');

    const message = await stores.messages.getMessage(first.message_id);
    assert.equal(inboundOrigin(message!)?.provider_timestamp, '2026-12-03T09:59:59Z');
    assert.deepEqual(message?.channels, ['all']);
  });

  it('gives a message from a linked address to that user, with every owner of the channel', async () => {
    const { stores, deps, alice, bob, user } = await setup();
    const carol = await user('carol');
    await stores.users.linkIdentity({ user_id: carol.user_id, channel: 'instagram', address: 'ig-carol', linked_at: '2026-12-01T00:00:00Z' });
    const r = await acceptInbound(deps, inbound('ig-carol', { channel: 'instagram', provider_message_id: 'mid.1' }));
    assert.equal(r.sender_id, carol.user_id);
    const c = await stores.conversations.getConversation(r.conversation_id);
    assert.deepEqual(c?.members, [carol.user_id, bob.user_id, alice.user_id]);
    assert.equal(c?.type, 'group');
  });

  it('answers into the conversation that last delivered to the address within 24 h, else falls back to the default one', async () => {
    const { stores, clock, deps, alice, bob } = await setup();
    const first = await acceptInbound(deps, inbound('5511900000002'));
    const contactId = first.sender_id;
    const group = 'conv-group';
    await stores.conversations.createConversation({ conversation_id: group, type: 'group', members: [bob.user_id, alice.user_id, contactId], name: 'team', metadata: null, created_at: '2026-12-03T00:00:00Z' });
    await deliverTo(stores, group, bob.user_id, contactId, '5511900000002', new Date(clock.now()).toISOString());

    clock.t += 23 * HOUR;
    assert.equal((await acceptInbound(deps, inbound('5511900000002'))).conversation_id, group, 'a reply within the window goes where the last delivery came from');
    clock.t += 2 * HOUR;
    assert.equal((await acceptInbound(deps, inbound('5511900000002'))).conversation_id, first.conversation_id, 'after the window: the default conversation, reused');

    // A conversation the address's holder has left claims no replies.
    await deliverTo(stores, group, bob.user_id, contactId, '5511900000002', new Date(clock.now()).toISOString());
    await stores.conversations.removeMember(group, contactId);
    assert.equal((await acceptInbound(deps, inbound('5511900000002'))).conversation_id, first.conversation_id);
  });

  it('keeps the latest delivery as the reply target whatever order the providers accept them in', async () => {
    const { stores, clock, deps, bob } = await setup();
    const { sender_id } = await acceptInbound(deps, inbound('5511900000003'));
    for (const id of ['older', 'newer']) {
      await stores.conversations.createConversation({ conversation_id: id, type: 'private', members: [bob.user_id, sender_id], name: null, metadata: null, created_at: '2026-12-03T00:00:00Z' });
    }
    await deliverTo(stores, 'newer', bob.user_id, sender_id, '5511900000003', new Date(clock.now() - 1000).toISOString());
    await deliverTo(stores, 'older', bob.user_id, sender_id, '5511900000003', new Date(clock.now() - 5000).toISOString());
    assert.equal((await acceptInbound(deps, inbound('5511900000003'))).conversation_id, 'newer');
  });

  it('makes one message of a repeated provider message id, and publishes it for routing', async () => {
    const { stores, deps } = await setup();
    const bus = deps.bus as InMemoryBus;
    const seen: string[] = [];
    const sub = await bus.subscribe({ group: 'g', topics: [TOPICS.accepted], handler: async (r) => void seen.push(JSON.parse(r.value).message_id) });
    const m = inbound('5511900000004');
    const a = await acceptInbound(deps, m);
    const b = await acceptInbound(deps, { ...m, payload: { type: 'text', text: 'the retry' } });
    assert.deepEqual(b, { ...a, created: false });
    assert.equal(a.message_id, inboundMessageId('whatsapp', m.provider_message_id));
    assert.deepEqual((await stores.messages.getMessage(a.message_id))?.payload, m.payload, 'the first copy is kept');
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await sub.stop();
    assert.ok(seen.includes(a.message_id));
  });

  it('two replicas on one SQLite file, each given copies of the same webhooks at once, make one contact and one message per provider id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'c4a-inbound-'));
    dirs.push(dir);
    const file = join(dir, 'db.sqlite');
    const one = openSqliteStores(file);
    const two = openSqliteStores(file);
    try {
      const { clock } = await setup(one);
      const replicas = [depsOn(one, clock), depsOn(two, clock)];
      const messages = Array.from({ length: 10 }, () => inbound('5511900000005'));
      const results = await Promise.all(messages.flatMap((m) => replicas.map((d) => acceptInbound(d, m))));
      assert.equal(new Set(results.map((r) => r.sender_id)).size, 1, 'one contact');
      assert.equal(new Set(results.map((r) => r.conversation_id)).size, 1, 'one conversation');
      assert.equal(new Set(results.map((r) => r.message_id)).size, 10);
      assert.equal(results.filter((r) => r.created).length, 10, 'each provider message created once');
      assert.equal((await one.messages.listUnroutedIn(results[0]!.conversation_id)).length, 10);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('rejects when the store fails, so that the webhook answers 5xx', async () => {
    const { stores, deps } = await setup();
    const failing = { ...deps, messages: { ...stores.messages, getMessage: stores.messages.getMessage.bind(stores.messages), acceptMessage: async () => Promise.reject(new Error('disk full')) } };
    await assert.rejects(acceptInbound(failing, inbound('5511900000006')), /disk full/);
  });

  it('merges a contact into the user who verifies its address: history kept, the conversation continues', async () => {
    const { stores, clock, deps, alice, user } = await setup();
    const maria = await user('maria');
    const before = await acceptInbound(deps, inbound('5511900000007'));
    const contact = (await stores.contacts.getContact(before.sender_id))!;
    await mergeContact(deps, contact, maria.user_id, new Date(clock.now()).toISOString());

    assert.equal((await stores.contacts.getContact(contact.contact_id))?.merged_into, maria.user_id);
    assert.equal((await stores.users.findIdentity('whatsapp', '5511900000007'))?.user_id, maria.user_id);
    assert.deepEqual((await stores.conversations.getConversation(before.conversation_id))?.members, [alice.user_id, maria.user_id]);
    assert.equal((await stores.messages.getMessage(before.message_id))?.sender_id, contact.contact_id, 'old messages keep their sender');

    clock.t += 48 * HOUR;
    const later = await acceptInbound(deps, inbound('5511900000007'));
    assert.equal(later.sender_id, maria.user_id);
    assert.equal(later.conversation_id, before.conversation_id, 'the merged user keeps the contact’s conversation');

    // Maria lets the address go: the next message from it is a new contact, in a conversation of its own.
    await stores.users.unlinkIdentity(maria.user_id, 'whatsapp', '5511900000007');
    const stranger = await acceptInbound(deps, inbound('5511900000007'));
    assert.notEqual(stranger.sender_id, contact.contact_id);
    assert.notEqual(stranger.sender_id, maria.user_id);
    assert.notEqual(stranger.conversation_id, before.conversation_id);
  });

  it('finishes a merge cut short when the address writes again', async () => {
    const { stores, clock, deps, user } = await setup();
    const maria = await user('maria');
    const before = await acceptInbound(deps, inbound('5511900000008'));
    // Only the first step happened (the process died after it).
    await stores.contacts.markMerged(before.sender_id, maria.user_id, new Date(clock.now()).toISOString());
    const next = await acceptInbound(deps, inbound('5511900000008'));
    assert.equal(next.sender_id, maria.user_id);
    assert.equal((await stores.users.findIdentity('whatsapp', '5511900000008'))?.user_id, maria.user_id);
    assert.ok((await stores.conversations.getConversation(before.conversation_id))?.members.includes(maria.user_id));
  });
});

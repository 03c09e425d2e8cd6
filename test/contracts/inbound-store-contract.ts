import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CapReached } from '../../services/core/cap-reached.ts';
import type { Stores } from '../../services/core/ports/stores.ts';
import { InMemoryBus } from '../../services/core/adapters/in-memory-bus.ts';
import { createLogger } from '../../services/core/logger.ts';
import { acceptInbound, type InboundMessage } from '../../services/core/inbound/accept-inbound.ts';
import { accept, conversation, eachTestStores, id, now, type StoresFactory } from './store-fixtures.ts';

/** Routes a message of `conversation_id` to `recipient` at `address` with the delivery made at `at`, and has the provider accept it. */
async function deliveredTo(stores: Stores, conversation_id: string, sender: string, recipient: string, address: string, at: string) {
  const message_id = await accept(stores, conversation_id, sender);
  const { deliveries } = await stores.messages.routeMessage(message_id, [{ recipient_id: recipient, channel: 'whatsapp', address }], at);
  return stores.deliveries.recordProviderRef(deliveries[0]!.delivery_id, `wamid.${id()}`);
}

/** What inbound messages need of the stores: contacts, moving an address, the unrouted of a conversation, reply targets. */
export function inboundStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: contacts and inbound`, () => {
    const ctx = eachTestStores(make);

    it('creates a contact once, also when many create it at once', async () => {
      const { contacts } = ctx.stores;
      const contact_id = id();
      const results = await Promise.all(
        ['Maria', 'Other', 'Third', 'Fourth'].map((display_name) =>
          contacts.createContact({ contact_id, channel: 'whatsapp', address: `+55${id()}`, display_name, created_at: now() }),
        ),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      const winner = results.find((r) => r.created)!.contact;
      for (const r of results) assert.deepEqual(r.contact, winner, 'every caller gets the stored contact');
      assert.equal(winner.merged_into, null);
      assert.deepEqual(await contacts.getContact(contact_id), winner);
      assert.equal(await contacts.getContact(id()), null);
    });

    it('lists the contacts among ids, leaving out the others', async () => {
      const { contacts } = ctx.stores;
      const a = id();
      const b = id();
      await contacts.createContact({ contact_id: a, channel: 'whatsapp', address: `+1${id()}`, display_name: null, created_at: now() });
      await contacts.createContact({ contact_id: b, channel: 'instagram', address: `ig-${id()}`, display_name: 'B', created_at: now() });
      const found = await contacts.listContacts([a, id(), b, a]);
      assert.deepEqual(found.map((c) => c.contact_id).sort(), [a, b].sort());
      assert.deepEqual(await contacts.listContacts([]), []);
    });

    it('renames a contact, and only one that exists', async () => {
      const { contacts } = ctx.stores;
      const contact_id = id();
      await contacts.createContact({ contact_id, channel: 'instagram', address: `ig-${id()}`, display_name: null, created_at: now() });
      assert.equal(await contacts.renameContact(contact_id, 'Maria'), true);
      assert.equal((await contacts.getContact(contact_id))?.display_name, 'Maria');
      const ghost = id();
      assert.equal(await contacts.renameContact(ghost, 'Nobody'), false);
      assert.equal(await contacts.getContact(ghost), null, 'no contact is made by a rename');
    });

    it('marks a contact merged once: a second merge into another user changes nothing', async () => {
      const { contacts } = ctx.stores;
      const contact_id = id();
      await contacts.createContact({ contact_id, channel: 'whatsapp', address: `+1${id()}`, display_name: 'M', created_at: now() });
      const [u1, u2] = [id(), id()];
      const first = await contacts.markMerged(contact_id, u1, '2026-12-03T10:00:00.000Z');
      assert.equal(first?.merged_into, u1);
      assert.equal(first?.merged_at, '2026-12-03T10:00:00.000Z');
      assert.equal((await contacts.markMerged(contact_id, u2, '2026-12-03T11:00:00.000Z'))?.merged_into, u1);
      assert.equal((await contacts.getContact(contact_id))?.merged_into, u1);
      assert.equal(await contacts.markMerged(id(), u1, now()), null, 'no contact is made by a merge');
      assert.equal(await contacts.getContact(id()), null);
    });

    it('moves an address from its holder to a user atomically, and only from that holder', async () => {
      const { users } = ctx.stores;
      const address = `+55${id()}`;
      const [contact, user, other] = [id(), id(), id()];
      await users.linkIdentity({ user_id: contact, channel: 'whatsapp', address, linked_at: now() });
      assert.equal(await users.transferIdentity('whatsapp', address, other, { user_id: user, linked_at: now() }), null, 'not from a user who does not hold it');
      const moved = await users.transferIdentity('whatsapp', address, contact, { user_id: user, linked_at: '2026-12-03T10:00:00.000Z' });
      assert.equal(moved?.user_id, user);
      assert.equal((await users.findIdentity('whatsapp', address))?.user_id, user);
      assert.deepEqual((await users.listIdentities([user])).map((i) => i.address), [address]);
      assert.deepEqual(await users.listIdentities([contact]), []);
      assert.equal((await users.transferIdentity('whatsapp', address, contact, { user_id: user, linked_at: now() }))?.user_id, user, 'a repeat answers the identity');
      assert.equal(await users.transferIdentity('whatsapp', `+55${id()}`, contact, { user_id: user, linked_at: now() }), null, 'an address nobody holds is not moved');
    });

    it('refuses to move an address to a user at the cap, and leaves it with its holder', async () => {
      const { users } = ctx.stores;
      const [contact, user] = [id(), id()];
      await users.linkIdentity({ user_id: user, channel: 'whatsapp', address: `+1${id()}`, linked_at: now() }, { max: 1 });
      const address = `+55${id()}`;
      await users.linkIdentity({ user_id: contact, channel: 'whatsapp', address, linked_at: now() });
      await assert.rejects(users.transferIdentity('whatsapp', address, contact, { user_id: user, linked_at: now() }, { max: 1 }), (e: unknown) => e instanceof CapReached);
      assert.equal((await users.findIdentity('whatsapp', address))?.user_id, contact);
    });

    it('lists every unrouted message of a conversation in acceptance order', async () => {
      const { messages } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores);
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await accept(ctx.stores, conversation_id, users[0]!, `m${i}`));
      await messages.routeMessage(ids[0]!, [], now());
      assert.deepEqual((await messages.listUnroutedIn(conversation_id)).map((m) => m.message_id), ids.slice(1));
      assert.deepEqual(await messages.listUnroutedIn(id()), []);
    });

    it('keeps as reply target of an address the latest delivery a provider accepted, in whatever order they are recorded', async () => {
      const { deliveries } = ctx.stores;
      const address = `+55${id()}`;
      const a = await conversation(ctx.stores);
      const b = await conversation(ctx.stores);
      assert.equal(await deliveries.lastReplyTarget('whatsapp', address), null);
      assert.equal(await deliveredTo(ctx.stores, a.conversation_id, a.users[0]!, a.users[1]!, address, '2026-12-03T10:00:00.000Z'), true);
      assert.deepEqual(await deliveries.lastReplyTarget('whatsapp', address), { conversation_id: a.conversation_id, at: '2026-12-03T10:00:00.000Z' });
      await deliveredTo(ctx.stores, b.conversation_id, b.users[0]!, b.users[1]!, address, '2026-12-03T09:00:00.000Z');
      assert.equal((await deliveries.lastReplyTarget('whatsapp', address))?.conversation_id, a.conversation_id, 'an earlier delivery recorded late does not win');
      await deliveredTo(ctx.stores, b.conversation_id, b.users[0]!, b.users[1]!, address, '2026-12-03T11:00:00.000Z');
      assert.deepEqual(await deliveries.lastReplyTarget('whatsapp', address), { conversation_id: b.conversation_id, at: '2026-12-03T11:00:00.000Z' });
      assert.equal(await deliveries.lastReplyTarget('instagram', address), null, 'per channel');
    });

    it('accepts one message per id when the same id is accepted many times at once', async () => {
      const { messages } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores);
      const message_id = id();
      const results = await Promise.all(
        ['a', 'b', 'c', 'd'].map((text) =>
          messages.acceptMessage({
            message_id, conversation_id, sender_id: users[0]!, payload: { type: 'text', text }, channels: ['all'],
            metadata: null, body_hash: text, trace_id: 't', created_at: now(),
          }),
        ),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      const kept = results.find((r) => r.created)!.message.body_hash;
      for (const r of results) assert.equal(r.message.body_hash, kept, 'every caller gets the stored message');
    });

    it('acceptInbound: copies of the same webhooks at once make one contact, one conversation and one message per provider id', async () => {
      const stores = ctx.stores;
      const deps = {
        ...stores, bus: new InMemoryBus(4, 10), clock: { now: () => Date.now() }, logger: createLogger('test', 'silent'), publishWaitMs: 0,
        settings: { defaultMembers: {}, replyWindowMs: 86_400_000 },
      };
      const from = `+55${Date.now() % 1e9}${Math.floor(Math.random() * 1000)}`;
      const sent = Array.from({ length: 5 }, (_, i): InboundMessage => ({
        channel: 'whatsapp', from, profile_name: 'Maria', provider_message_id: `wamid.${id()}`,
        provider_timestamp: new Date(Date.now() - 1000 + i).toISOString(), payload: { type: 'text', text: `m${i}` },
      }));
      const results = await Promise.all([...sent, ...sent, ...sent].map((m) => acceptInbound(deps, m)));
      assert.equal(new Set(results.map((r) => r.sender_id)).size, 1, 'one contact');
      assert.equal(new Set(results.map((r) => r.conversation_id)).size, 1, 'one conversation');
      assert.equal(new Set(results.map((r) => r.message_id)).size, 5);
      assert.equal(results.filter((r) => r.created).length, 5, 'each provider message created once');
      assert.equal((await stores.users.findIdentity('whatsapp', from))?.user_id, results[0]!.sender_id);
      assert.equal((await stores.messages.listUnroutedIn(results[0]!.conversation_id)).length, 5);
    });

    it('notes no reply target for a delivery no provider accepted', async () => {
      const { messages, deliveries } = ctx.stores;
      const { users, conversation_id } = await conversation(ctx.stores);
      const address = `+55${id()}`;
      const message_id = await accept(ctx.stores, conversation_id, users[0]!);
      await messages.routeMessage(message_id, [{ recipient_id: users[1]!, channel: 'whatsapp', address }], now());
      assert.equal(await deliveries.lastReplyTarget('whatsapp', address), null);
    });
  });
}

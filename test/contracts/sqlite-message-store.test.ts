import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMessageStore } from '../../services/core/adapters/sqlite-message-store.ts';
import type { MessageStore } from '../../services/core/ports/message-store.ts';
import { AppError } from '../../services/core/errors.ts';

const now = () => new Date().toISOString();

/** The MessageStore contract; every store adapter runs it. */
function storeContract(name: string, make: () => { store: MessageStore; reopen?: () => MessageStore; cleanup: () => void }) {
  describe(name, () => {
    let ctx: ReturnType<typeof make>;
    let store: MessageStore;
    beforeEach(() => {
      ctx = make();
      store = ctx.store;
    });
    afterEach(async () => {
      await store.close();
      ctx.cleanup();
    });

    async function conversationWithMessage() {
      const a = randomUUID();
      const b = randomUUID();
      const conversation_id = randomUUID();
      await store.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: now() });
      const message_id = randomUUID();
      await store.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'hi' }, channels: ['all'],
        metadata: null, body_hash: 'h', trace_id: 't', created_at: now(),
      });
      return { a, b, conversation_id, message_id };
    }

    it('refuses a taken username with a conflict', async () => {
      await store.createUser({ user_id: randomUUID(), username: 'ana', password_hash: 'x', created_at: now() });
      await assert.rejects(
        store.createUser({ user_id: randomUUID(), username: 'ana', password_hash: 'y', created_at: now() }),
        (e: unknown) => e instanceof AppError && e.status === 409,
      );
    });

    it('links an address to one user only', async () => {
      const at = now();
      await store.linkIdentity({ user_id: 'u1', channel: 'whatsapp', address: '+551100', linked_at: at });
      await store.linkIdentity({ user_id: 'u1', channel: 'whatsapp', address: '+551100', linked_at: at });
      await assert.rejects(store.linkIdentity({ user_id: 'u2', channel: 'whatsapp', address: '+551100', linked_at: at }), /another user/);
      assert.equal((await store.listIdentities(['u1'])).length, 1);
    });

    it('accepts a message_id once', async () => {
      const { message_id, conversation_id, a } = await conversationWithMessage();
      const again = await store.acceptMessage({
        message_id, conversation_id, sender_id: a, payload: { type: 'text', text: 'other' }, channels: ['all'],
        metadata: null, body_hash: 'h2', trace_id: 't', created_at: now(),
      });
      assert.equal(again.created, false);
      assert.equal(again.message.body_hash, 'h', 'the first body stays');
    });

    it('routes a message once: one seq, one set of deliveries', async () => {
      const { b, message_id } = await conversationWithMessage();
      const plan = [{ recipient_id: b, channel: 'whatsapp' as const, address: '+5511' }];
      const first = await store.routeMessage(message_id, plan, now());
      const second = await store.routeMessage(message_id, plan, now());
      assert.equal(first.seq, 1);
      assert.equal(first.routedNow, true);
      assert.equal(second.routedNow, false);
      assert.equal(second.seq, 1);
      assert.deepEqual(second.deliveries.map((d) => d.delivery_id), first.deliveries.map((d) => d.delivery_id));
      assert.equal((await store.listUnrouted(new Date(Date.now() + 1000).toISOString(), 10)).length, 0);
    });

    it('applies statuses forward only and records each transition once', async () => {
      const { b, message_id } = await conversationWithMessage();
      const { deliveries } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'whatsapp', address: '+55' }], now());
      const delivery_id = deliveries[0]!.delivery_id;
      assert.equal((await store.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, true);
      assert.equal((await store.applyStatus({ delivery_id, status: 'DELIVERED', at: now(), source: 't' })).applied, false);
      assert.equal((await store.applyStatus({ delivery_id, status: 'READ', at: now(), source: 't' })).applied, false);
      assert.equal((await store.applyStatus({ delivery_id, status: 'FAILED', at: now(), source: 't' })).applied, false);
      assert.deepEqual((await store.history(message_id)).map((h) => h.status), ['SENT', 'SENT', 'READ']);
      assert.equal((await store.getDelivery(delivery_id))!.status, 'READ');
    });

    it('finds a delivery by the provider id and lists the ones not yet sent', async () => {
      const { b, message_id } = await conversationWithMessage();
      const { deliveries } = await store.routeMessage(message_id, [{ recipient_id: b, channel: 'instagram', address: '17' }], now());
      const later = new Date(Date.now() + 1000).toISOString();
      assert.equal((await store.listUndispatched(later, 10)).length, 1);
      await store.recordProviderRef(deliveries[0]!.delivery_id, 'mid.1');
      assert.equal((await store.findDeliveryByProviderRef('instagram', 'mid.1'))!.delivery_id, deliveries[0]!.delivery_id);
      assert.equal(await store.findDeliveryByProviderRef('whatsapp', 'mid.1'), null);
      assert.equal((await store.listUndispatched(later, 10)).length, 0);
    });

    if (ctx_reopens(make)) {
      it('keeps accepted messages across a reopen', async () => {
        const { message_id } = await conversationWithMessage();
        await store.close();
        store = ctx.reopen!();
        assert.ok(await store.getMessage(message_id));
      });
    }
  });
}

function ctx_reopens(make: () => { reopen?: unknown; cleanup: () => void; store: MessageStore }): boolean {
  const probe = make();
  const has = typeof probe.reopen === 'function';
  void probe.store.close();
  probe.cleanup();
  return has;
}

storeContract('SqliteMessageStore (file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'c4a-store-'));
  const path = join(dir, 'db.sqlite');
  return { store: new SqliteMessageStore(path), reopen: () => new SqliteMessageStore(path), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});
storeContract('SqliteMessageStore (memory)', () => ({ store: new SqliteMessageStore(':memory:'), cleanup: () => undefined }));

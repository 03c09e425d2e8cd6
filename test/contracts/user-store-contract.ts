import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../services/core/errors.ts';
import { eachTestStores, id, later, now, type StoresFactory } from './store-fixtures.ts';

/** The UserStore contract: users and the addresses linked to them. */
export function userStoreContract(name: string, make: StoresFactory) {
  describe(`${name}: users`, () => {
    const ctx = eachTestStores(make);

    it('refuses a taken username with a conflict', async () => {
      const { users } = ctx.stores;
      const username = `ana-${id()}`;
      const user_id = id();
      await users.createUser({ user_id, username, password_hash: 'x', created_at: now() });
      await assert.rejects(
        users.createUser({ user_id: id(), username, password_hash: 'y', created_at: now() }),
        (e: unknown) => e instanceof AppError && e.status === 409,
      );
      const found = await users.findUserByName(username);
      assert.equal(found?.user_id, user_id);
      assert.equal(found?.password_hash, 'x', 'the first registration keeps the name');
      assert.equal((await users.getUser(user_id))?.role, 'user');
      assert.equal(await users.getUser(id()), null);
      assert.equal(await users.findUserByName(`nobody-${id()}`), null);
    });

    it('replaces a password hash, for existing users only', async () => {
      const { users } = ctx.stores;
      const username = `rehash-${id()}`;
      const user_id = id();
      await users.createUser({ user_id, username, password_hash: 'old', created_at: now() });
      assert.equal(await users.updatePasswordHash(user_id, 'new'), true);
      assert.equal((await users.findUserByName(username))?.password_hash, 'new');
      const ghost = id();
      assert.equal(await users.updatePasswordHash(ghost, 'new'), false);
      assert.equal(await users.getUser(ghost), null, 'no user is created');
    });

    it('grants and revokes the admin role, for existing users only', async () => {
      const { users } = ctx.stores;
      const username = `role-${id()}`;
      const user_id = id();
      await users.createUser({ user_id, username, password_hash: 'x', created_at: now() });
      assert.equal(await users.setRole(user_id, 'admin'), true);
      assert.equal((await users.getUser(user_id))?.role, 'admin');
      assert.equal((await users.findUserByName(username))?.role, 'admin');
      assert.equal(await users.setRole(user_id, 'user'), true);
      assert.equal((await users.getUser(user_id))?.role, 'user');
      const ghost = id();
      assert.equal(await users.setRole(ghost, 'admin'), false);
      assert.equal(await users.getUser(ghost), null, 'no user is created');
    });

    it('links an address to one user only', async () => {
      const { users } = ctx.stores;
      const at = now();
      const [u1, u2, address] = [id(), id(), `+55${Date.now()}${Math.floor(Math.random() * 1000)}`];
      await users.linkIdentity({ user_id: u1, channel: 'whatsapp', address, linked_at: at });
      await users.linkIdentity({ user_id: u1, channel: 'whatsapp', address, linked_at: at });
      await assert.rejects(users.linkIdentity({ user_id: u2, channel: 'whatsapp', address, linked_at: at }), /another user/);
      assert.equal((await users.listIdentities([u1])).length, 1);
      assert.equal((await users.findIdentity('whatsapp', address))?.user_id, u1);
      assert.equal(await users.unlinkIdentity(u2, 'whatsapp', address), false, 'only the holder unlinks');
      assert.equal(await users.unlinkIdentity(u1, 'whatsapp', address), true);
      assert.equal(await users.unlinkIdentity(u1, 'whatsapp', address), false);
      assert.deepEqual(await users.listIdentities([u1]), []);
      assert.equal(await users.findIdentity('whatsapp', address), null);
    });

    it('keeps a pending link: replaced by a new one, tries spent once each, used once', async () => {
      const { users } = ctx.stores;
      const [user_id, address] = [id(), `+55${Date.now()}${Math.floor(Math.random() * 1000)}`];
      const challenge = { user_id, channel: 'whatsapp' as const, address, code_hash: 'h1', created_at: now(), expires_at: later(60_000), tries_left: 3 };
      assert.equal(await users.getIdentityChallenge(user_id, 'whatsapp', address), null);
      await users.putIdentityChallenge(challenge);
      assert.deepEqual(await users.getIdentityChallenge(user_id, 'whatsapp', address), challenge);
      // Linking again: a fresh code and fresh tries.
      const fresh = { ...challenge, code_hash: 'h2', tries_left: 2 };
      await users.putIdentityChallenge(fresh);
      assert.deepEqual(await users.listIdentityChallenges(user_id), [fresh]);
      assert.equal(await users.findIdentity('whatsapp', address), null, 'a pending link is no identity');
      // Two guesses at once spend two tries; then there are none left.
      const spent = await Promise.all([users.spendIdentityChallengeTry(user_id, 'whatsapp', address), users.spendIdentityChallengeTry(user_id, 'whatsapp', address)]);
      assert.deepEqual(spent.map((c) => c?.tries_left).sort(), [0, 1]);
      assert.equal(await users.spendIdentityChallengeTry(user_id, 'whatsapp', address), null);
      assert.equal(await users.spendIdentityChallengeTry(id(), 'whatsapp', address), null, 'another user has no pending link here');
      assert.equal(await users.deleteIdentityChallenge(user_id, 'whatsapp', address), true);
      assert.equal(await users.deleteIdentityChallenge(user_id, 'whatsapp', address), false, 'used once');
      assert.deepEqual(await users.listIdentityChallenges(user_id), []);
    });
  });
}

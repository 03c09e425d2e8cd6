import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, SCRYPT_MIN_PRODUCTION_COST } from '../core/config.ts';
import { hashPassword, needsRehash, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('hashes with scrypt in the scrypt$N$r$p$salt$hash format, salted', async () => {
    const a = await hashPassword('s3cret-password', 1024);
    const b = await hashPassword('s3cret-password', 1024);
    const [alg, N, r, p, salt, hash] = a.split('$');
    assert.deepEqual([alg, N, r, p], ['scrypt', '1024', '8', '1']);
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(hash!, 'base64').length, 32);
    assert.notEqual(a, b);
  });

  it('verifies the right password only', async () => {
    const stored = await hashPassword('s3cret-password', 1024);
    assert.equal(await verifyPassword('s3cret-password', stored), true);
    assert.equal(await verifyPassword('s3cret-passworD', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('verifies with the parameters stored in the hash, so a cost change keeps old hashes valid', async () => {
    const old = await hashPassword('pw-123456', 2048);
    assert.equal(await verifyPassword('pw-123456', old), true);
  });

  it('never matches a malformed hash', async () => {
    for (const bad of ['', 'plain', 'scrypt$1024$8$1$c2FsdA==', 'bcrypt$1$2$3$4$5', 'scrypt$x$8$1$c2FsdA==$aGFzaA==', 'scrypt$1024$8$1$c2FsdA==$', 'scrypt$1000$8$1$c2FsdA==$aGFzaA==']) {
      assert.equal(await verifyPassword('anything', bad), false, bad);
    }
  });

  it('says which hashes need a rehash: another N, or not a hash of ours', async () => {
    const stored = await hashPassword('pw-123456', 1024);
    assert.equal(needsRehash(stored, 1024), false);
    assert.equal(needsRehash(stored, 2048), true);
    assert.equal(needsRehash('scrypt$1024$4$1$c2FsdA==$aGFzaA==', 1024), true, 'another r');
    assert.equal(needsRehash('plain', 1024), true);
  });

  it('hashes and verifies at OWASP\'s cost (N=2^17: 128 MiB, above Node\'s default scrypt memory cap)', async () => {
    const stored = await hashPassword('s3cret-password', 2 ** 17);
    assert.match(stored, /^scrypt\$131072\$8\$1\$/);
    assert.equal(await verifyPassword('s3cret-password', stored), true);
  });

  it('refuses a stored N too large to be ours (it would allocate gigabytes)', async () => {
    assert.equal(await verifyPassword('x', 'scrypt$4194304$8$1$c2FsdA==$aGFzaA=='), false);
  });
});

describe('password cost in the configuration', () => {
  const prod = { CHAT4ALL_PROFILE: 'production', JWT_SECRET: 'x'.repeat(40), META_APP_SECRET: 'm'.repeat(20), WEBHOOK_VERIFY_TOKEN: 'v'.repeat(20), WHATSAPP_TOKEN: 'w'.repeat(20), INSTAGRAM_TOKEN: 'i'.repeat(20) };

  it('defaults to OWASP\'s N = 2^17', () => {
    assert.equal(SCRYPT_MIN_PRODUCTION_COST, 131072);
    assert.equal(loadConfig({}).scryptCost, 131072);
  });

  it('refuses a lower cost in production, naming the minimum; dev and tests may go lower', () => {
    assert.throws(() => loadConfig({ ...prod, SCRYPT_COST: '16384' }), /SCRYPT_COST: SCRYPT_COST \(16384\) is below 131072/);
    assert.equal(loadConfig({ ...prod }).scryptCost, 131072);
    assert.equal(loadConfig({ SCRYPT_COST: '1024' }).scryptCost, 1024);
  });
});


import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from './password.ts';

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
});

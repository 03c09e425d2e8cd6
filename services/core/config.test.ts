import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEV_SECRETS, loadConfig } from './config.ts';

const strong = (c: string) => c.repeat(40);
/** A production environment with every secret set to a real-looking value. */
const production = {
  CHAT4ALL_PROFILE: 'production',
  JWT_SECRET: strong('j'),
  AUTH_CLIENTS: `backoffice:${strong('c')}`,
  META_APP_SECRET: strong('m'),
  WEBHOOK_VERIFY_TOKEN: strong('v'),
  WHATSAPP_TOKEN: strong('w'),
  INSTAGRAM_TOKEN: strong('i'),
};

function problems(env: Record<string, string>, overrides: Record<string, unknown> = {}): string[] {
  try {
    loadConfig(env, overrides);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

describe('config: secrets', () => {
  it('accepts a production config with real secrets', () => {
    assert.deepEqual(problems(production), []);
    assert.deepEqual(loadConfig(production).devSecretsInUse, []);
  });

  it('verifies identities by default, and production refuses IDENTITY_VERIFICATION=off', () => {
    assert.equal(loadConfig(production).identityVerification, 'on');
    assert.equal(loadConfig({}).identityVerification, 'on');
    assert.equal(loadConfig({ IDENTITY_VERIFICATION: 'off' }).identityVerification, 'off');
    const found = problems({ ...production, IDENTITY_VERIFICATION: 'off' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^IDENTITY_VERIFICATION: .*refused when CHAT4ALL_PROFILE=production/);
  });

  it('production refuses every published dev default, naming the variable and how to fix it', () => {
    for (const [env, value] of Object.entries(DEV_SECRETS)) {
      const found = problems({ ...production, [env]: value });
      assert.equal(found.length, 1, `${env}: ${found.join('; ')}`);
      assert.match(found[0]!, new RegExp(`^${env}: .*(published dev|dev secret).*(set a value of your own|generate one)`), found[0]);
    }
  });

  it('production refuses a secret shorter than its minimum', () => {
    assert.match(problems({ ...production, JWT_SECRET: 'x'.repeat(31) }).join(), /JWT_SECRET: JWT_SECRET is 31 characters, production needs at least 32: generate a longer one/);
    assert.match(problems({ ...production, META_APP_SECRET: 'short' }).join(), /META_APP_SECRET is 5 characters, production needs at least 16/);
    assert.match(problems({ ...production, WHATSAPP_TOKEN: 'abc' }).join(), /WHATSAPP_TOKEN is 3 characters/);
    assert.match(problems({ ...production, AUTH_CLIENTS: 'ops:hunter2' }).join(), /the secret of client ops is 7 characters, production needs at least 24/);
    assert.equal(problems({ ...production, JWT_SECRET: '', META_APP_SECRET: 'x' }).length, 2, 'every problem at once');
  });

  it('ADMIN_BOOTSTRAP_TOKEN: optional, no dev default, API only, and in production 32+ characters and never a dev value', () => {
    assert.equal(loadConfig({}).adminBootstrapToken, '', 'no dev default: the bootstrap route stays off');
    assert.ok(!loadConfig({}).devSecretsInUse.includes('ADMIN_BOOTSTRAP_TOKEN' as never));
    assert.equal(loadConfig({ ADMIN_BOOTSTRAP_TOKEN: 'dev' }, { service: 'api' }).adminBootstrapToken, 'dev');
    assert.equal(loadConfig({ ADMIN_BOOTSTRAP_TOKEN: strong('b') }, { service: 'gateway' }).adminBootstrapToken, '', 'only the API holds it');
    assert.equal(loadConfig({ ADMIN_BOOTSTRAP_TOKEN: strong('b') }, { service: 'connectors' }).adminBootstrapToken, '');
    assert.deepEqual(problems(production), [], 'not required in production');
    assert.deepEqual(problems({ ...production, ADMIN_BOOTSTRAP_TOKEN: strong('b') }), []);
    assert.equal(loadConfig({ ...production, ADMIN_BOOTSTRAP_TOKEN: strong('b') }, { service: 'api' }).adminBootstrapToken, strong('b'));
    assert.match(problems({ ...production, ADMIN_BOOTSTRAP_TOKEN: 'x'.repeat(31) }).join(), /ADMIN_BOOTSTRAP_TOKEN is 31 characters, production needs at least 32/);
    assert.match(problems({ ...production, ADMIN_BOOTSTRAP_TOKEN: DEV_SECRETS.JWT_SECRET }).join(), /ADMIN_BOOTSTRAP_TOKEN is a published dev default/);
  });

  it('a service requires only the secrets it reads, and holds no published value for the others', () => {
    const only = (keys: string[]) => Object.fromEntries([['CHAT4ALL_PROFILE', 'production'], ...keys.map((k) => [k, production[k as keyof typeof production]])]);
    const connector = { ...only(['META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'WHATSAPP_TOKEN']), CONNECTOR_CHANNELS: 'whatsapp' };
    assert.deepEqual(problems(connector, { service: 'connectors' }), []);
    const c = loadConfig(connector, { service: 'connectors' });
    assert.equal(c.jwtSecret, '', 'the connector holds no JWT secret, not even the dev one');
    assert.equal(c.instagramToken, '');
    assert.equal(c.authClients.size, 0);
    assert.match(problems({ ...connector, CONNECTOR_CHANNELS: 'instagram' }, { service: 'connectors' }).join(), /INSTAGRAM_TOKEN is required when CHAT4ALL_PROFILE=production \(service connectors\)/);
    assert.deepEqual(problems(only(['JWT_SECRET']), { service: 'api' }), []);
    assert.equal(loadConfig(only(['JWT_SECRET']), { service: 'api' }).metaAppSecret, '');
    assert.match(problems(only([]), { service: 'api' }).join(), /JWT_SECRET is required/);
    assert.deepEqual(problems(only([]), { service: 'router' }), []);
    assert.equal(problems(only([])).length, 5, 'the one-process platform reads them all (AUTH_CLIENTS may be empty)');
  });

  it('production refuses the s3rver keys, and takes its own', () => {
    const base = { CHAT4ALL_PROFILE: 'production', JWT_SECRET: strong('j') };
    assert.throws(() => loadConfig({ ...base, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }, { service: 'api' }), /S3_ACCESS_KEY_ID is a published dev default/);
    assert.throws(() => loadConfig({ ...base, S3_ACCESS_KEY_ID: 'minio-user', S3_SECRET_ACCESS_KEY: 'short' }, { service: 'api' }), /S3_SECRET_ACCESS_KEY is 5 characters/);
    const c = loadConfig({ ...base, S3_ACCESS_KEY_ID: 'minio-user', S3_SECRET_ACCESS_KEY: strong('s') }, { service: 'api' });
    assert.equal(c.s3AccessKey, 'minio-user');
    assert.equal(loadConfig({}).s3SecretKey, 'S3RVER', 'the dev profile talks to s3rver');
  });

  it('the dev profile lists every dev default in use at start', () => {
    const s3 = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
    assert.deepEqual(loadConfig({}).devSecretsInUse, ['JWT_SECRET', 'AUTH_CLIENTS', 'META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'WHATSAPP_TOKEN', 'INSTAGRAM_TOKEN', ...s3]);
    assert.deepEqual(loadConfig({ JWT_SECRET: strong('j'), WHATSAPP_TOKEN: DEV_SECRETS.WHATSAPP_TOKEN }).devSecretsInUse, ['AUTH_CLIENTS', 'META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'WHATSAPP_TOKEN', 'INSTAGRAM_TOKEN', ...s3], 'a dev value set explicitly counts');
    assert.deepEqual(loadConfig({}, { service: 'connectors', connectorChannels: 'instagram' }).devSecretsInUse, ['META_APP_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'INSTAGRAM_TOKEN', ...s3], 'a service lists the ones it reads');
    assert.deepEqual(loadConfig({}, { service: 'router' }).devSecretsInUse, [], 'the router reads none');
    assert.equal(loadConfig({}).jwtSecret, DEV_SECRETS.JWT_SECRET);
  });
});

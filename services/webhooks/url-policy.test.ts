import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWebhookUrl, classifyAddress } from './url-policy.ts';

const strict = { allowPrivateTargets: false };
const open = { allowPrivateTargets: true };

describe('webhook URL policy', () => {
  it('classifies addresses', () => {
    assert.equal(classifyAddress('169.254.169.254'), 'metadata');
    assert.equal(classifyAddress('fd00:ec2::254'), 'metadata');
    assert.equal(classifyAddress('169.254.1.1'), 'link-local');
    assert.equal(classifyAddress('fe80::1'), 'link-local');
    assert.equal(classifyAddress('fd12::1'), 'unique-local');
    assert.equal(classifyAddress('10.0.0.1'), 'private');
    assert.equal(classifyAddress('172.31.255.1'), 'private');
    assert.equal(classifyAddress('172.32.0.1'), 'public');
    assert.equal(classifyAddress('192.168.1.1'), 'private');
    assert.equal(classifyAddress('127.0.0.1'), 'loopback');
    assert.equal(classifyAddress('::1'), 'loopback');
    assert.equal(classifyAddress('::ffff:10.0.0.1'), 'private');
    assert.equal(classifyAddress('0.0.0.0'), 'unspecified');
    assert.equal(classifyAddress('203.0.113.10'), 'public');
    assert.equal(classifyAddress('2001:db8::1'), 'public');
  });

  it('refuses metadata, private, non-http and loopback targets by default', async () => {
    for (const url of ['http://169.254.169.254/', 'http://10.0.0.1/', 'ftp://x', 'http://localhost', 'http://127.0.0.1:8080/h', 'http://[::1]/', 'http://0.0.0.0/', 'not a url', 'http://user:pw@203.0.113.10/']) {
      const r = await checkWebhookUrl(url, strict);
      assert.equal(r.ok, false, url);
    }
    const r = await checkWebhookUrl('http://169.254.169.254/', strict);
    assert.ok(!r.ok && /metadata/.test(r.reason));
  });

  it('refuses a host when any of its addresses is not allowed', async () => {
    const lookup = async () => [{ address: '203.0.113.10', family: 4 }, { address: '10.1.2.3', family: 4 }];
    assert.equal((await checkWebhookUrl('https://hooks.example.com/x', { ...strict, lookup })).ok, false);
    const publicOnly = async () => [{ address: '203.0.113.10', family: 4 }];
    assert.equal((await checkWebhookUrl('https://hooks.example.com/x', { ...strict, lookup: publicOnly })).ok, true);
    const fails = async () => {
      throw new Error('ENOTFOUND');
    };
    assert.equal((await checkWebhookUrl('https://nowhere.invalid/', { ...strict, lookup: fails })).ok, false);
  });

  it('allows loopback and private targets when the operator allows them, but never metadata', async () => {
    assert.equal((await checkWebhookUrl('http://127.0.0.1:9999/hook', open)).ok, true);
    assert.equal((await checkWebhookUrl('http://localhost:9999/hook', open)).ok, true);
    assert.equal((await checkWebhookUrl('http://10.0.0.1/', open)).ok, true);
    assert.equal((await checkWebhookUrl('http://169.254.169.254/', open)).ok, false);
    assert.equal((await checkWebhookUrl('ftp://x', open)).ok, false);
  });

  it('unwraps IPv4 carried in IPv6 (mapped, compatible, NAT64, 6to4, SIIT) and refuses it when the IPv4 is not public', async () => {
    assert.equal(classifyAddress('::ffff:7f00:1'), 'loopback');
    assert.equal(classifyAddress('::ffff:a9fe:a9fe'), 'metadata');
    assert.equal(classifyAddress('::7f00:1'), 'loopback');
    assert.equal(classifyAddress('::a00:1'), 'private');
    assert.equal(classifyAddress('64:ff9b::a9fe:a9fe'), 'metadata');
    assert.equal(classifyAddress('64:ff9b::7f00:1'), 'loopback');
    assert.equal(classifyAddress('2002:7f00:1::'), 'loopback');
    assert.equal(classifyAddress('2002:a9fe:a9fe::1'), 'metadata');
    assert.equal(classifyAddress('::ffff:0:7f00:1'), 'loopback');
    // A public IPv4 behind a tunnel or a deprecated form is still refused; mapped and NAT64 reach the host.
    assert.equal(classifyAddress('2002:808:808::'), 'reserved');
    assert.equal(classifyAddress('::808:808'), 'reserved');
    assert.equal(classifyAddress('::ffff:808:808'), 'public');
    assert.equal(classifyAddress('64:ff9b::808:808'), 'public');
    assert.equal(classifyAddress('2001::1'), 'reserved', 'Teredo');
    assert.equal(classifyAddress('224.0.0.1'), 'reserved');
    assert.equal(classifyAddress('255.255.255.255'), 'reserved');
    assert.equal(classifyAddress('fe80::1%eth0'), 'link-local');
    for (const url of [
      'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a9fe:a9fe]/', 'http://[::7f00:1]/', 'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:7f00:1::]/',
      'http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://[fe80::1]/', 'http://169.254.1.1/',
    ]) {
      const r = await checkWebhookUrl(url, strict);
      assert.equal(r.ok, false, url);
    }
    const metadata = await checkWebhookUrl('http://[::ffff:a9fe:a9fe]/', open);
    assert.ok(!metadata.ok && /metadata/.test(metadata.reason), 'metadata is refused even when private targets are allowed');
  });

  it('refuses a DNS name that resolves to a mapped loopback address', async () => {
    const lookup = async () => [{ address: '::ffff:127.0.0.1', family: 6 }];
    assert.equal((await checkWebhookUrl('https://hooks.example.com/x', { ...strict, lookup })).ok, false);
  });

  it('allows a public https URL', async () => {
    assert.equal((await checkWebhookUrl('https://203.0.113.10/hooks', strict)).ok, true);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhook } from './verify.ts';

const secret = 'whsec_test_secret_0123456789';
const body = JSON.stringify({ event_id: 'evt_1', type: 'message.delivered', message_id: 'm1', status: 'DELIVERED' });
const now = Date.parse('2025-01-01T12:00:00Z');
const ts = Math.floor(now / 1000);
const headers = (b = body, t = ts, s = secret) => ({
  'Chat4All-Webhook-Id': 'evt_1',
  'Chat4All-Webhook-Timestamp': String(t),
  'Chat4All-Webhook-Signature': signWebhook(s, t, b),
});

describe('webhook signature verification', () => {
  it('accepts a callback signed with the secret, from Node headers or fetch Headers', () => {
    assert.deepEqual(verifyWebhook(body, headers(), secret, { now }), { valid: true, eventId: 'evt_1', timestamp: ts });
    assert.equal(verifyWebhook(Buffer.from(body), new Headers(headers()), secret, { now }).valid, true);
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('DELIVERED', 'READ');
    assert.deepEqual(verifyWebhook(tampered, headers(), secret, { now }), { valid: false, reason: 'bad_signature' });
  });

  it('refuses a callback signed with another secret', () => {
    assert.deepEqual(verifyWebhook(body, headers(body, ts, 'whsec_another_secret_xyz'), secret, { now }), { valid: false, reason: 'bad_signature' });
  });

  it('refuses a timestamp outside the tolerance, even with a valid signature', () => {
    const old = ts - 301;
    assert.deepEqual(verifyWebhook(body, headers(body, old), secret, { now }), { valid: false, reason: 'timestamp_outside_tolerance' });
    assert.equal(verifyWebhook(body, headers(body, old), secret, { now, toleranceSeconds: 600 }).valid, true);
    assert.equal(verifyWebhook(body, headers(body, ts + 301), secret, { now }).valid, false, 'from the future too');
  });

  it('refuses a signature moved to another timestamp, and missing headers', () => {
    const h = { ...headers(), 'Chat4All-Webhook-Timestamp': String(ts + 1) };
    assert.equal(verifyWebhook(body, h, secret, { now }).valid, false);
    assert.deepEqual(verifyWebhook(body, { 'Chat4All-Webhook-Id': 'evt_1' }, secret, { now }), { valid: false, reason: 'missing_headers' });
  });

  it('accepts any of several signatures (secret rotation)', () => {
    const h = { ...headers(), 'Chat4All-Webhook-Signature': `v1=${'0'.repeat(64)} ${signWebhook(secret, ts, body)}` };
    assert.equal(verifyWebhook(body, h, secret, { now }).valid, true);
  });
});

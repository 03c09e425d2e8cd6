import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../core/errors.ts';
import { readSignedWebhook, signMetaPayload, verifyMetaSignature, verifySubscription } from './meta-signature.ts';

const secret = 'app-secret';
const body = Buffer.from('{"object":"instagram","entry":[]}');

describe('signMetaPayload', () => {
  it('matches the published HMAC-SHA256 test vector', () => {
    assert.equal(
      signMetaPayload('The quick brown fox jumps over the lazy dog', 'key'),
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });
});

describe('verifyMetaSignature', () => {
  const good = signMetaPayload(body, secret);

  it('accepts the signature of the exact bytes, in either hex case', () => {
    assert.equal(verifyMetaSignature(body, good, secret), true);
    assert.equal(verifyMetaSignature(body, `sha256=${good.slice(7).toUpperCase()}`, secret), true);
  });

  it('rejects a tampered body and a wrong secret', () => {
    assert.equal(verifyMetaSignature(Buffer.from('{"object":"instagram","entry":[1]}'), good, secret), false);
    assert.equal(verifyMetaSignature(body, good, 'other-secret'), false);
  });

  it('rejects missing, repeated and malformed headers without throwing', () => {
    for (const header of [undefined, null, '', good.slice(7), 'sha1=' + good.slice(7), good.slice(0, -2), good + '00', 'sha256=' + 'z'.repeat(64), [good]]) {
      assert.equal(verifyMetaSignature(body, header, secret), false, JSON.stringify(header));
    }
  });

  it('never verifies with an empty secret', () => {
    assert.equal(verifyMetaSignature(body, signMetaPayload(body, ''), ''), false);
  });
});

describe('verifySubscription', () => {
  const q = (mode: unknown, token: unknown, challenge: unknown = '1158201444') => ({
    'hub.mode': mode,
    'hub.verify_token': token,
    'hub.challenge': challenge,
  });

  it('echoes the challenge when the mode is subscribe and the token matches', () => {
    assert.deepEqual(verifySubscription(q('subscribe', 'tok'), 'tok'), { status: 200, body: '1158201444' });
  });

  it('refuses a wrong token, a wrong mode, repeated parameters and an unset token', () => {
    assert.deepEqual(verifySubscription(q('subscribe', 'nope'), 'tok'), { status: 403, body: 'forbidden' });
    assert.deepEqual(verifySubscription(q('subscribe', 'tok2'), 'tok'), { status: 403, body: 'forbidden' });
    assert.deepEqual(verifySubscription(q('unsubscribe', 'tok'), 'tok'), { status: 403, body: 'forbidden' });
    assert.deepEqual(verifySubscription(q('subscribe', ['tok', 'tok']), 'tok'), { status: 403, body: 'forbidden' });
    assert.deepEqual(verifySubscription(q('subscribe', ''), ''), { status: 403, body: 'forbidden' });
  });
});

describe('readSignedWebhook', () => {
  it('returns the parsed body when signed (header name in any case)', () => {
    assert.deepEqual(readSignedWebhook({ rawBody: body, headers: { 'X-Hub-Signature-256': signMetaPayload(body, secret) } }, secret), {
      object: 'instagram',
      entry: [],
    });
  });

  it('throws 401 bad_signature when the header is missing or wrong', () => {
    for (const headers of [{}, { 'x-hub-signature-256': signMetaPayload(body, 'other') }]) {
      assert.throws(
        () => readSignedWebhook({ rawBody: body, headers }, secret),
        (err: unknown) => err instanceof AppError && err.status === 401 && err.code === 'bad_signature',
      );
    }
  });

  it('throws 400 bad_webhook for a signed body that is not JSON', () => {
    const raw = Buffer.from('not json');
    assert.throws(
      () => readSignedWebhook({ rawBody: raw, headers: { 'x-hub-signature-256': signMetaPayload(raw, secret) } }, secret),
      (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'bad_webhook',
    );
  });
});

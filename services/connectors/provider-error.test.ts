import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../core/errors.ts';
import {
  ProviderError,
  classifyProviderError,
  parseRetryAfter,
  providerErrorFromFetchFailure,
  providerErrorFromResponse,
  toDeliveryError,
} from './provider-error.ts';

const noHeaders = new Headers();

describe('classifyProviderError', () => {
  it('retries the WhatsApp rate-limit and temporary codes even when Meta answers 400', () => {
    for (const code of [130429, 131056, 80007, 4, 1, 2, 131000]) {
      assert.equal(classifyProviderError('whatsapp', 400, code), true, `code ${code}`);
    }
  });

  it('does not retry the permanent WhatsApp codes, even with a 5xx', () => {
    for (const code of [131026, 131047, 131048, 131049, 100, 190]) {
      assert.equal(classifyProviderError('whatsapp', 400, code), false, `code ${code}`);
    }
    assert.equal(classifyProviderError('whatsapp', 500, 131026), false);
  });

  it('retries the Instagram rate limits and not its permanent codes', () => {
    for (const code of [4, 17, 32, 613]) assert.equal(classifyProviderError('instagram', 400, code), true, `code ${code}`);
    for (const code of [551, 100, 10, 190]) assert.equal(classifyProviderError('instagram', 400, code), false, `code ${code}`);
  });

  it('reads codes per channel: 17 is a rate limit on Instagram only, 1 a temporary error on WhatsApp only', () => {
    assert.equal(classifyProviderError('instagram', 400, 17), true);
    assert.equal(classifyProviderError('whatsapp', 400, 17), false);
    assert.equal(classifyProviderError('whatsapp', 400, 1), true);
    assert.equal(classifyProviderError('instagram', 400, 1), false);
  });

  it('falls back to the HTTP status for unknown codes', () => {
    for (const channel of ['whatsapp', 'instagram'] as const) {
      assert.equal(classifyProviderError(channel, 503, 999999), true);
      assert.equal(classifyProviderError(channel, 500, null), true);
      assert.equal(classifyProviderError(channel, 429, null), true);
      assert.equal(classifyProviderError(channel, 400, 999999), false);
      assert.equal(classifyProviderError(channel, 401, null), false);
      assert.equal(classifyProviderError(channel, 404, null), false);
      assert.equal(classifyProviderError(channel, null, null), true, 'no answer at all');
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delay-seconds', () => assert.equal(parseRetryAfter('7', now), 7000));
  it('reads an HTTP date', () => assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000));
  it('never returns a negative delay for a date in the past', () =>
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0));
  it('returns null for absent or unreadable values', () => {
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter('', now), null);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-5', now), null);
  });
});

describe('providerErrorFromResponse', () => {
  it("reads Meta's error body", () => {
    const body = JSON.stringify({
      error: {
        message: 'Message undeliverable',
        type: 'OAuthException',
        code: 131026,
        error_data: { details: 'Receiver is not on WhatsApp' },
        fbtrace_id: 'Atrace123',
      },
    });
    const err = providerErrorFromResponse('whatsapp', 400, noHeaders, body);
    assert.ok(err instanceof ProviderError);
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'provider_131026');
    assert.equal(err.providerCode, 131026);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.retriable, false);
    assert.equal(err.fbtraceId, 'Atrace123');
    assert.equal(err.channel, 'whatsapp');
    assert.match(err.message, /Message undeliverable/);
    assert.match(err.message, /Receiver is not on WhatsApp/);
  });

  it('quotes a body that is not a Meta error and classifies by status', () => {
    const err = providerErrorFromResponse('instagram', 502, new Headers({ 'retry-after': '3' }), '<html>Bad gateway</html>');
    assert.equal(err.code, 'provider_http_502');
    assert.equal(err.providerCode, null);
    assert.equal(err.retriable, true);
    assert.equal(err.retryAfterMs, 3000);
    assert.match(err.message, /Bad gateway/);
  });
});

describe('providerErrorFromFetchFailure', () => {
  it('turns a timeout into a retriable provider_timeout', () => {
    const err = providerErrorFromFetchFailure('whatsapp', new DOMException('timed out', 'TimeoutError'), 50);
    assert.equal(err.code, 'provider_timeout');
    assert.equal(err.retriable, true);
    assert.equal(err.httpStatus, null);
  });

  it('turns a refused connection into a retriable provider_unreachable', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    const err = providerErrorFromFetchFailure('instagram', refused, 50);
    assert.equal(err.code, 'provider_unreachable');
    assert.equal(err.retriable, true);
  });

  it('keeps other network failures retriable', () => {
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    const err = providerErrorFromFetchFailure('instagram', reset, 50);
    assert.equal(err.code, 'provider_network_error');
    assert.equal(err.retriable, true);
  });
});

describe('toDeliveryError', () => {
  it("stores the provider's code as a string when there is one", () => {
    const err = new ProviderError({ channel: 'whatsapp', providerCode: 131047, httpStatus: 400, message: 're-engagement' });
    assert.deepEqual(toDeliveryError(err), { code: '131047', message: 're-engagement' });
  });

  it('stores our own code otherwise', () => {
    const err = new ProviderError({ channel: 'whatsapp', code: 'provider_timeout', message: 'slow', retriable: true });
    assert.deepEqual(toDeliveryError(err), { code: 'provider_timeout', message: 'slow' });
    assert.deepEqual(toDeliveryError(new Error('boom')), { code: 'connector_error', message: 'boom' });
  });
});

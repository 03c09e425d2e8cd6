import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AppError } from '../core/errors.ts';
import { InstagramConnector, type InstagramConnectorOptions } from './instagram-connector.ts';
import { signMetaPayload } from './meta-signature.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
import { closedPortUrl, startScriptedProvider, type ScriptedProvider } from './scripted-provider.ts';

const secret = 'ig-app-secret';
const sent = (mid: string) => ({ status: 200, body: { recipient_id: '1789', message_id: mid } });
const metaError = (code: number, message = 'error') => ({ error: { message, type: 'OAuthException', code, fbtrace_id: 'IgTrace' } });

async function providerError(fn: () => Promise<unknown>): Promise<ProviderError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('InstagramConnector', () => {
  let provider: ScriptedProvider;
  let ig: InstagramConnector;
  const connector = (over: Partial<InstagramConnectorOptions> = {}) =>
    new InstagramConnector({
      baseUrl: provider.url,
      apiVersion: 'v21.0',
      accessToken: 'ig-token',
      appSecret: secret,
      verifyToken: 'verify-me',
      timeoutMs: 2000,
      ...over,
    });

  before(async () => {
    provider = await startScriptedProvider();
  });
  after(() => provider.close());
  beforeEach(() => {
    provider.requests.length = 0;
    ig = connector();
  });

  describe('sendText', () => {
    it('posts to /me/messages with the bearer token and returns the message_id', async () => {
      provider.reply(sent('mid.TEXT1'));
      assert.deepEqual(await ig.sendText('IGSID-1', 'hello'), { provider_message_id: 'mid.TEXT1' });
      const [req] = provider.requests;
      assert.equal(req?.method, 'POST');
      assert.equal(req?.path, '/v21.0/me/messages');
      assert.equal(req?.headers.authorization, 'Bearer ig-token');
      assert.deepEqual(req?.json, { recipient: { id: 'IGSID-1' }, message: { text: 'hello' } });
    });

    it('posts to /{accountId}/messages when an account id is set', async () => {
      provider.reply(sent('mid.ACC'));
      await connector({ accountId: '17841400000000001' }).sendText('IGSID-1', 'hi');
      assert.equal(provider.requests[0]?.path, '/v21.0/17841400000000001/messages');
    });

    it('counts the 1000-byte limit in UTF-8 bytes, not characters', async () => {
      provider.reply(sent('mid.800'), sent('mid.1000'));
      await ig.sendText('IGSID-1', 'é'.repeat(400)); // 800 bytes
      await ig.sendText('IGSID-1', 'é'.repeat(500)); // 1000 bytes: the limit itself
      assert.equal(provider.requests.length, 2);
      const err = await providerError(() => ig.sendText('IGSID-1', 'é'.repeat(501))); // 501 characters, 1002 bytes
      assert.equal(err.code, 'text_too_long');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 2, 'nothing sent for the rejected text');
    });

    it('rejects 251 characters of emoji (1001 bytes) although 251 ASCII characters would fit', async () => {
      const err = await providerError(() => ig.sendText('IGSID-1', '😀'.repeat(250) + 'a'));
      assert.equal(err.code, 'text_too_long');
      assert.equal(provider.requests.length, 0);
    });
  });

  describe('sendFile', () => {
    it('sends an attachment of the type Instagram takes the MIME type as (else a file), and no caption', async () => {
      const cases = [
        ['image/png', 'image'],
        ['video/mp4', 'video'],
        ['audio/mp4', 'audio'],
        // Instagram lists aac, m4a, wav and mp4 audio: an mp3 goes as a file.
        ['audio/mpeg', 'file'],
        ['application/pdf', 'file'],
        [undefined, 'file'],
      ] as const;
      for (const [mime, type] of cases) {
        provider.reply(sent(`mid.${type}`));
        const result = await ig.sendFile('IGSID-1', { url: 'https://f/x', mime_type: mime, caption: 'ignored', filename: 'x' });
        assert.equal(result.provider_message_id, `mid.${type}`);
        assert.deepEqual(
          provider.requests.at(-1)?.json,
          { recipient: { id: 'IGSID-1' }, message: { attachment: { type, payload: { url: 'https://f/x' } } } },
          String(mime),
        );
      }
    });
  });

  describe('reference', () => {
    it('puts options.reference into message.metadata of a text and of a file', async () => {
      provider.reply(sent('mid.R1'), sent('mid.R2'));
      await ig.sendText('IGSID-1', 'hello', { reference: 'delivery-1' });
      await ig.sendFile('IGSID-1', { url: 'https://f/x.png', mime_type: 'image/png' }, { reference: 'delivery-2' });
      assert.deepEqual(provider.requests[0]?.json, { recipient: { id: 'IGSID-1' }, message: { text: 'hello', metadata: 'delivery-1' } });
      assert.deepEqual(provider.requests[1]?.json, {
        recipient: { id: 'IGSID-1' },
        message: { attachment: { type: 'image', payload: { url: 'https://f/x.png' } }, metadata: 'delivery-2' },
      });
    });

    it('sends no metadata without a reference, and rejects one over 1000 characters without calling', async () => {
      provider.reply(sent('mid.N'), sent('mid.1000'));
      await ig.sendText('IGSID-1', 'x', { reference: '' });
      assert.deepEqual(provider.requests[0]?.json, { recipient: { id: 'IGSID-1' }, message: { text: 'x' } });
      await ig.sendText('IGSID-1', 'x', { reference: '😀'.repeat(1000) });
      const err = await providerError(() => ig.sendText('IGSID-1', 'x', { reference: 'r'.repeat(1001) }));
      assert.equal(err.code, 'reference_too_long');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 2);
    });
  });

  describe('provider errors', () => {
    it('makes the rate limit 613 retriable', async () => {
      provider.reply({ status: 400, body: metaError(613, 'Calls to this api have exceeded the rate limit.') });
      const err = await providerError(() => ig.sendText('IGSID-1', 'x'));
      assert.equal(err.retriable, true);
      assert.equal(err.code, 'provider_613');
      assert.equal(err.channel, 'instagram');
    });

    it('makes 551 (user unavailable) permanent and stores its code', async () => {
      provider.reply({ status: 400, body: metaError(551, 'This person is not available right now.') });
      const err = await providerError(() => ig.sendText('IGSID-1', 'x'));
      assert.equal(err.retriable, false);
      assert.equal(toDeliveryError(err).code, '551');
    });

    it('makes HTTP 429 retriable and reads a Retry-After date', async () => {
      const at = new Date(Date.now() + 60_000).toUTCString();
      provider.reply({ status: 429, headers: { 'retry-after': at }, body: 'slow down' });
      const err = await providerError(() => ig.sendText('IGSID-1', 'x'));
      assert.equal(err.retriable, true);
      assert.equal(err.httpStatus, 429);
      assert.ok(err.retryAfterMs !== null && err.retryAfterMs > 55_000 && err.retryAfterMs <= 60_000, String(err.retryAfterMs));
    });

    it('makes a 500 retriable and a plain 403 permanent', async () => {
      provider.reply({ status: 500, body: {} }, { status: 403, body: 'no' });
      assert.equal((await providerError(() => ig.sendText('IGSID-1', 'x'))).retriable, true);
      assert.equal((await providerError(() => ig.sendText('IGSID-1', 'x'))).retriable, false);
    });

    it('times out and reports unreachable as retriable', { timeout: 5000 }, async () => {
      provider.reply({ hang: true });
      const timeout = await providerError(() => connector({ timeoutMs: 100 }).sendText('IGSID-1', 'x'));
      assert.equal(timeout.code, 'provider_timeout');
      assert.equal(timeout.retriable, true);
      const baseUrl = await closedPortUrl();
      const down = await providerError(() => connector({ baseUrl }).sendText('IGSID-1', 'x'));
      assert.equal(down.code, 'provider_unreachable');
      assert.equal(down.retriable, true);
    });

    it('refuses a 200 without message_id as a permanent bad response', async () => {
      provider.reply({ status: 200, body: { recipient_id: '1789' } });
      const err = await providerError(() => ig.sendText('IGSID-1', 'x'));
      assert.equal(err.code, 'provider_bad_response');
      assert.equal(err.retriable, false);
    });
  });

  describe('verifySubscription', () => {
    it('echoes the challenge for the configured token only', () => {
      const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '42' };
      assert.deepEqual(ig.verifySubscription(query), { status: 200, body: '42' });
      assert.deepEqual(ig.verifySubscription({ ...query, 'hub.verify_token': 'verify-mE' }), { status: 403, body: 'forbidden' });
    });
  });

  describe('profileName', () => {
    it('asks the User Profile API once, with the bearer token, and remembers the name', async () => {
      provider.reply({ body: { name: 'Ivo Santos', username: 'ivo.s', id: 'IGSID-9' } });
      assert.equal(await ig.profileName('IGSID-9'), 'Ivo Santos');
      assert.equal(await ig.profileName('IGSID-9'), 'Ivo Santos');
      assert.equal(provider.requests.length, 1);
      assert.equal(provider.requests[0]?.method, 'GET');
      assert.equal(provider.requests[0]?.path, '/v21.0/IGSID-9?fields=name,username');
      assert.equal(provider.requests[0]?.headers.authorization, 'Bearer ig-token');
    });

    it('gives no name, and does not throw, when the provider refuses, answers junk or hangs', async () => {
      provider.reply({ status: 400, body: { error: { message: 'nope', code: 100 } } });
      assert.equal(await ig.profileName('IGSID-a'), undefined);
      provider.reply({ body: 'not json' });
      assert.equal(await ig.profileName('IGSID-b'), undefined);
      provider.reply({ hang: true });
      assert.equal(await connector({ timeoutMs: 200 }).profileName('IGSID-c'), undefined);
      assert.equal(await connector({ baseUrl: await closedPortUrl() }).profileName('IGSID-d'), undefined);
    });
  });

  describe('parseWebhook', () => {
    const signed = (payload: unknown, key = secret) => {
      const rawBody = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return { rawBody, headers: { 'x-hub-signature-256': signMetaPayload(rawBody, key) } };
    };
    const envelope = (...messaging: unknown[]) => ({ object: 'instagram', entry: [{ id: 'IGACC', time: 1700000000000, messaging }] });

    it('maps a read receipt to READ for its mid, with the millisecond timestamp as RFC 3339', () => {
      const result = ig.parseWebhook(
        signed(envelope({ sender: { id: 'IGSID-1' }, recipient: { id: 'IGACC' }, timestamp: 1700000000123, read: { mid: 'mid.OUT1' } })),
      );
      assert.deepEqual(result.statuses, [{ provider_message_id: 'mid.OUT1', status: 'READ', at: '2023-11-14T22:13:20.123Z' }]);
      assert.deepEqual(result.inbound, []);
    });

    it('reads an inbound message; an echo without our metadata is refused as not ours', () => {
      const result = ig.parseWebhook(
        signed(
          envelope(
            { sender: { id: 'IGSID-1' }, recipient: { id: 'IGACC' }, timestamp: 1700000000000, message: { mid: 'mid.IN1', text: 'oi' } },
            { sender: { id: 'IGACC' }, recipient: { id: 'IGSID-1' }, timestamp: 1700000000500, message: { mid: 'mid.OUT2', text: 'us', is_echo: true } },
            { sender: { id: 'IGSID-1' }, recipient: { id: 'IGACC' }, timestamp: 1700000000600, reaction: { mid: 'mid.OUT2', action: 'react' } },
          ),
        ),
      );
      assert.deepEqual(result.statuses, []);
      assert.deepEqual(result.inbound, [
        { channel: 'instagram', from: 'IGSID-1', to: 'IGACC', provider_message_id: 'mid.IN1', provider_timestamp: '2023-11-14T22:13:20.000Z', payload: { type: 'text', text: 'oi' } },
      ]);
      // A reaction that names no reaction is refused with its reason, not taken for a removal.
      assert.deepEqual(result.refused, [
        { channel: 'instagram', type: 'echo', reason: 'not_ours', provider_message_id: 'mid.OUT2' },
        { channel: 'instagram', type: 'reaction', reason: 'malformed', from: 'IGSID-1', provider_message_id: 'mid.OUT2' },
      ]);
    });

    it('turns an echo with metadata into SENT with that reference; echoes without metadata stay ignored', () => {
      const result = ig.parseWebhook(
        signed(
          envelope(
            {
              sender: { id: 'IGACC' },
              recipient: { id: 'IGSID-1' },
              timestamp: 1700000000500,
              message: { mid: 'mid.OUT1', is_echo: true, text: 'us', metadata: 'delivery-1' },
            },
            {
              sender: { id: 'IGACC' },
              recipient: { id: 'IGSID-1' },
              timestamp: 1700000000600,
              message: { mid: 'mid.OUT2', is_echo: true, attachments: [{ type: 'image', payload: { url: 'https://f/x' } }], metadata: 'delivery-2' },
            },
            { sender: { id: 'IGACC' }, recipient: { id: 'IGSID-1' }, timestamp: 1700000000700, message: { mid: 'mid.OUT3', is_echo: true, text: 'no ref' } },
            { sender: { id: 'IGACC' }, recipient: { id: 'IGSID-1' }, timestamp: 1700000000800, message: { mid: 'mid.OUT4', is_echo: true, text: 'bad', metadata: 7 } },
            { sender: { id: 'IGSID-1' }, recipient: { id: 'IGACC' }, timestamp: 1700000000900, message: { mid: 'mid.IN1', text: 'oi', metadata: 'ignored' } },
          ),
        ),
      );
      assert.deepEqual(result.statuses, [
        { provider_message_id: 'mid.OUT1', status: 'SENT', reference: 'delivery-1', at: '2023-11-14T22:13:20.500Z' },
        { provider_message_id: 'mid.OUT2', status: 'SENT', reference: 'delivery-2', at: '2023-11-14T22:13:20.600Z' },
      ]);
      assert.deepEqual(result.inbound, [
        { channel: 'instagram', from: 'IGSID-1', to: 'IGACC', provider_message_id: 'mid.IN1', provider_timestamp: '2023-11-14T22:13:20.900Z', payload: { type: 'text', text: 'oi' } },
      ]);
      // Echoes with no metadata were sent from our account by someone else: counted, not ours.
      assert.deepEqual(
        result.refused.map((r) => [r.provider_message_id, r.reason]),
        [
          ['mid.OUT3', 'not_ours'],
          ['mid.OUT4', 'not_ours'],
        ],
      );
    });

    it('ignores another object type', () => {
      const payload = { ...envelope({ sender: { id: 'a' }, timestamp: 1, message: { mid: 'm', text: 't' } }), object: 'page' };
      assert.deepEqual(ig.parseWebhook(signed(payload)), { statuses: [], inbound: [], refused: [] });
    });

    it('rejects a tampered body and a missing header with 401, and non-JSON with 400', () => {
      const good = signed(envelope());
      const tampered = { ...good, rawBody: Buffer.concat([good.rawBody, Buffer.from(' ')]) };
      for (const request of [tampered, { rawBody: good.rawBody, headers: {} }]) {
        assert.throws(
          () => ig.parseWebhook(request),
          (err: unknown) => err instanceof AppError && err.status === 401 && err.code === 'bad_signature',
        );
      }
      assert.throws(
        () => ig.parseWebhook(signed('<xml/>')),
        (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'bad_webhook',
      );
    });
  });
});

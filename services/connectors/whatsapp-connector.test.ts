import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AppError } from '../core/errors.ts';
import { signMetaPayload } from './meta-signature.ts';
import { ProviderError, toDeliveryError } from './provider-error.ts';
import { closedPortUrl, startScriptedProvider, type ScriptedProvider } from './scripted-provider.ts';
import { WhatsAppConnector, type WhatsAppConnectorOptions } from './whatsapp-connector.ts';

const secret = 'wa-app-secret';
const sent = (id: string) => ({
  status: 200,
  body: { messaging_product: 'whatsapp', contacts: [{ input: '5511999999999', wa_id: '5511999999999' }], messages: [{ id }] },
});
const metaError = (code: number, message = 'error', details = 'details') => ({
  error: { message, type: 'OAuthException', code, error_data: { details }, fbtrace_id: 'AbCtrace' },
});

/** Runs `fn`, which must reject with a ProviderError, and returns that error. */
async function providerError(fn: () => Promise<unknown>): Promise<ProviderError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('WhatsAppConnector', () => {
  let provider: ScriptedProvider;
  let wa: WhatsAppConnector;
  const connector = (over: Partial<WhatsAppConnectorOptions> = {}) =>
    new WhatsAppConnector({
      baseUrl: provider.url,
      phoneNumberId: '100000000000001',
      accessToken: 'wa-token',
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
    wa = connector();
  });

  describe('sendText', () => {
    it('posts the Cloud API text shape with the bearer token and returns the wamid', async () => {
      provider.reply(sent('wamid.TEXT1'));
      const result = await wa.sendText('+55 (11) 99999-9999', 'olá');
      assert.deepEqual(result, { provider_message_id: 'wamid.TEXT1' });
      const [req] = provider.requests;
      assert.equal(req?.method, 'POST');
      assert.equal(req?.path, '/v21.0/100000000000001/messages');
      assert.equal(req?.headers.authorization, 'Bearer wa-token');
      assert.match(req?.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(req?.json, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '5511999999999',
        type: 'text',
        text: { preview_url: false, body: 'olá' },
      });
    });

    it('uses the configured API version and tolerates a trailing slash on the base URL', async () => {
      provider.reply(sent('wamid.V'));
      await connector({ baseUrl: `${provider.url}/`, apiVersion: 'v19.0' }).sendText('5511', 'x');
      assert.equal(provider.requests[0]?.path, '/v19.0/100000000000001/messages');
    });

    it('rejects a recipient with no digits without calling', async () => {
      const err = await providerError(() => wa.sendText('not-a-number', 'x'));
      assert.equal(err.code, 'invalid_recipient');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 0);
    });

    it('rejects a text over 4096 characters without calling', async () => {
      const err = await providerError(() => wa.sendText('5511', 'a'.repeat(4097)));
      assert.equal(err.code, 'text_too_long');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 0);
    });
  });

  describe('reference', () => {
    it('puts options.reference into biz_opaque_callback_data of a text and of a file', async () => {
      provider.reply(sent('wamid.R1'), sent('wamid.R2'));
      await wa.sendText('5511999999999', 'olá', { reference: 'delivery-1' });
      await wa.sendFile('5511999999999', { url: 'https://files.example/a.pdf', mime_type: 'application/pdf' }, { reference: 'delivery-2' });
      assert.deepEqual(provider.requests[0]?.json, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '5511999999999',
        type: 'text',
        text: { preview_url: false, body: 'olá' },
        biz_opaque_callback_data: 'delivery-1',
      });
      assert.deepEqual(provider.requests[1]?.json, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '5511999999999',
        type: 'document',
        document: { link: 'https://files.example/a.pdf' },
        biz_opaque_callback_data: 'delivery-2',
      });
    });

    it('sends no biz_opaque_callback_data without a reference', async () => {
      provider.reply(sent('wamid.N1'), sent('wamid.N2'));
      await wa.sendText('5511999999999', 'x', {});
      await wa.sendText('5511999999999', 'x', { reference: '' });
      assert.ok(provider.requests.every((r) => !('biz_opaque_callback_data' in (r.json as object))));
    });

    it('rejects a reference over 512 characters without calling', async () => {
      provider.reply(sent('wamid.512'));
      await wa.sendText('5511999999999', 'x', { reference: 'r'.repeat(512) });
      const err = await providerError(() => wa.sendText('5511999999999', 'x', { reference: 'r'.repeat(513) }));
      assert.equal(err.code, 'reference_too_long');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 1);
    });
  });

  describe('sendFile', () => {
    it('sends a JPEG as an image with its caption and no filename', async () => {
      provider.reply(sent('wamid.IMG'));
      const result = await wa.sendFile('5511999999999', {
        url: 'https://files.example/a.jpg',
        mime_type: 'image/jpeg',
        caption: 'look',
        filename: 'a.jpg',
      });
      assert.equal(result.provider_message_id, 'wamid.IMG');
      const body = provider.requests[0]?.json as Record<string, unknown>;
      assert.equal(body.type, 'image');
      assert.deepEqual(body.image, { link: 'https://files.example/a.jpg', caption: 'look' });
      assert.equal(body.to, '5511999999999');
      assert.equal(body.messaging_product, 'whatsapp');
    });

    it('chooses the media type from the MIME type, defaulting to a document with its filename', async () => {
      const cases = [
        [{ mime_type: 'video/mp4' }, 'video'],
        [{ mime_type: 'audio/ogg; codecs=opus' }, 'audio'],
        [{ mime_type: 'application/pdf', filename: 'r.pdf' }, 'document'],
        [{ mime_type: 'image/gif' }, 'document'],
        [{ mime_type: 'constructor' }, 'document'],
        [{ filename: 'r.bin' }, 'document'],
      ] as const;
      for (const [file, type] of cases) {
        provider.reply(sent(`wamid.${type}`));
        await wa.sendFile('5511', { url: 'https://f/x', ...file });
        const body = provider.requests.at(-1)?.json as Record<string, Record<string, unknown>>;
        assert.equal(body.type as unknown, type, JSON.stringify(file));
        assert.equal(body[type]?.link, 'https://f/x');
        if (type === 'document') assert.equal(body[type]?.filename, 'filename' in file ? file.filename : undefined);
        else assert.equal('filename' in (body[type] ?? {}), false);
      }
    });

    it('drops the caption of an audio file, which WhatsApp cannot carry', async () => {
      provider.reply(sent('wamid.A'));
      await wa.sendFile('5511', { url: 'https://f/a.ogg', mime_type: 'audio/ogg', caption: 'listen' });
      assert.deepEqual((provider.requests[0]?.json as Record<string, unknown>).audio, { link: 'https://f/a.ogg' });
    });

    it('accepts a 1024-character caption and rejects 1025 without calling', async () => {
      provider.reply(sent('wamid.OK'));
      await wa.sendFile('5511', { url: 'https://f/x.png', mime_type: 'image/png', caption: 'é'.repeat(1024) });
      assert.equal(provider.requests.length, 1);
      const err = await providerError(() =>
        wa.sendFile('5511', { url: 'https://f/x.png', mime_type: 'image/png', caption: 'c'.repeat(1025) }),
      );
      assert.equal(err.code, 'caption_too_long');
      assert.equal(err.retriable, false);
      assert.equal(provider.requests.length, 1);
    });
  });

  describe('provider errors', () => {
    it('makes 130429 with Retry-After a retriable error that says how long to wait', async () => {
      provider.reply({ status: 400, headers: { 'retry-after': '7' }, body: metaError(130429, 'Rate limit hit') });
      const err = await providerError(() => wa.sendText('5511', 'x'));
      assert.equal(err.retriable, true);
      assert.equal(err.code, 'provider_130429');
      assert.equal(err.providerCode, 130429);
      assert.equal(err.httpStatus, 400);
      assert.equal(err.retryAfterMs, 7000);
      assert.equal(err.fbtraceId, 'AbCtrace');
    });

    it('makes 131026 a permanent error stored with its code', async () => {
      provider.reply({ status: 400, body: metaError(131026, 'Message undeliverable', 'not on WhatsApp') });
      const err = await providerError(() => wa.sendText('5511', 'x'));
      assert.equal(err.retriable, false);
      assert.equal(err.retryAfterMs, null);
      assert.deepEqual(toDeliveryError(err).code, '131026');
      assert.match(toDeliveryError(err).message, /not on WhatsApp/);
    });

    it('makes a 5xx without a Meta body retriable', async () => {
      provider.reply({ status: 503, body: 'upstream down' });
      const err = await providerError(() => wa.sendFile('5511', { url: 'https://f/x' }));
      assert.equal(err.retriable, true);
      assert.equal(err.code, 'provider_http_503');
      assert.equal(err.httpStatus, 503);
    });

    it('makes a 401 permanent', async () => {
      provider.reply({ status: 401, body: metaError(190, 'Invalid OAuth access token') });
      const err = await providerError(() => wa.sendText('5511', 'x'));
      assert.equal(err.retriable, false);
      assert.equal(err.providerCode, 190);
    });

    it('times out a provider that never answers with a retriable provider_timeout', { timeout: 5000 }, async () => {
      provider.reply({ hang: true });
      const started = Date.now();
      const err = await providerError(() => connector({ timeoutMs: 100 }).sendText('5511', 'x'));
      assert.equal(err.code, 'provider_timeout');
      assert.equal(err.retriable, true);
      assert.ok(Date.now() - started < 1500, 'gave up near timeoutMs');
    });

    it('reports a closed port as a retriable provider_unreachable', async () => {
      const baseUrl = await closedPortUrl();
      const down = await providerError(() => connector({ baseUrl }).sendText('5511', 'x'));
      assert.equal(down.code, 'provider_unreachable');
      assert.equal(down.retriable, true);
    });

    it('refuses a 200 without messages[0].id as a permanent bad response', async () => {
      provider.reply({ status: 200, body: { messaging_product: 'whatsapp', messages: [] } });
      const err = await providerError(() => wa.sendText('5511', 'x'));
      assert.equal(err.code, 'provider_bad_response');
      assert.equal(err.retriable, false);
    });

    it('calls through an injected fetch', async () => {
      const urls: string[] = [];
      const fake = connector({
        baseUrl: 'https://graph.example',
        fetch: async (url) => {
          urls.push(url);
          return Response.json({ messages: [{ id: 'wamid.FAKE' }] });
        },
      });
      assert.deepEqual(await fake.sendText('5511', 'x'), { provider_message_id: 'wamid.FAKE' });
      assert.deepEqual(urls, ['https://graph.example/v21.0/100000000000001/messages']);
    });
  });

  describe('verifySubscription', () => {
    it('echoes the challenge for the configured token only', () => {
      const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': 'c123' };
      assert.deepEqual(wa.verifySubscription(query), { status: 200, body: 'c123' });
      assert.deepEqual(wa.verifySubscription({ ...query, 'hub.verify_token': 'wrong' }), { status: 403, body: 'forbidden' });
    });
  });

  describe('parseWebhook', () => {
    const signed = (payload: unknown, key = secret) => {
      const rawBody = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return { rawBody, headers: { 'x-hub-signature-256': signMetaPayload(rawBody, key) } };
    };
    const envelope = (value: unknown, field = 'messages') => ({
      object: 'whatsapp_business_account',
      entry: [{ id: 'WABA', changes: [{ field, value }] }],
    });
    const metadata = { display_phone_number: '15550001234', phone_number_id: '100000000000001' };

    it('maps sent, delivered, read and failed statuses with RFC 3339 times', () => {
      const result = wa.parseWebhook(
        signed(
          envelope({
            messaging_product: 'whatsapp',
            metadata,
            statuses: [
              { id: 'wamid.1', status: 'sent', timestamp: '1700000000', recipient_id: '5511' },
              { id: 'wamid.1', status: 'delivered', timestamp: '1700000001', recipient_id: '5511' },
              { id: 'wamid.1', status: 'read', timestamp: '1700000002', recipient_id: '5511' },
              {
                id: 'wamid.2',
                status: 'failed',
                timestamp: '1700000003',
                recipient_id: '5512',
                errors: [{ code: 131026, title: 'Message undeliverable' }],
              },
              { id: 'wamid.4', status: 'failed', timestamp: '1700000003', errors: 'garbled' },
              { id: 'wamid.3', status: 'deleted', timestamp: '1700000004' },
              { id: 'wamid.3', status: 'constructor', timestamp: '1700000004' },
              { status: 'sent', timestamp: '1700000005' },
            ],
          }),
        ),
      );
      assert.deepEqual(result.inbound, []);
      assert.deepEqual(result.statuses, [
        { provider_message_id: 'wamid.1', status: 'SENT', at: '2023-11-14T22:13:20.000Z' },
        { provider_message_id: 'wamid.1', status: 'DELIVERED', at: '2023-11-14T22:13:21.000Z' },
        { provider_message_id: 'wamid.1', status: 'READ', at: '2023-11-14T22:13:22.000Z' },
        {
          provider_message_id: 'wamid.2',
          status: 'FAILED',
          at: '2023-11-14T22:13:23.000Z',
          error: { code: '131026', message: 'Message undeliverable' },
        },
        {
          provider_message_id: 'wamid.4',
          status: 'FAILED',
          at: '2023-11-14T22:13:23.000Z',
          error: { code: 'unknown', message: 'WhatsApp reported the message failed without a reason' },
        },
      ]);
    });

    it('sets reference on each status from biz_opaque_callback_data', () => {
      const result = wa.parseWebhook(
        signed(
          envelope({
            messaging_product: 'whatsapp',
            metadata,
            statuses: [
              { id: 'wamid.1', status: 'sent', timestamp: '1700000000', recipient_id: '5511', biz_opaque_callback_data: 'delivery-1' },
              { id: 'wamid.2', status: 'delivered', timestamp: '1700000001', recipient_id: '5511' },
              { id: 'wamid.3', status: 'read', timestamp: '1700000002', recipient_id: '5511', biz_opaque_callback_data: 42 },
              {
                id: 'wamid.4',
                status: 'failed',
                timestamp: '1700000003',
                recipient_id: '5511',
                biz_opaque_callback_data: 'delivery-4',
                errors: [{ code: 131026, title: 'Message undeliverable' }],
              },
            ],
          }),
        ),
      );
      assert.deepEqual(result.statuses, [
        { provider_message_id: 'wamid.1', reference: 'delivery-1', status: 'SENT', at: '2023-11-14T22:13:20.000Z' },
        { provider_message_id: 'wamid.2', status: 'DELIVERED', at: '2023-11-14T22:13:21.000Z' },
        { provider_message_id: 'wamid.3', status: 'READ', at: '2023-11-14T22:13:22.000Z' },
        {
          provider_message_id: 'wamid.4',
          reference: 'delivery-4',
          status: 'FAILED',
          at: '2023-11-14T22:13:23.000Z',
          error: { code: '131026', message: 'Message undeliverable' },
        },
      ]);
    });

    it('reads inbound messages, addressed to our phone number id and named from contacts[]', () => {
      const result = wa.parseWebhook(
        signed(
          envelope({
            messaging_product: 'whatsapp',
            metadata,
            contacts: [{ profile: { name: 'Ana' }, wa_id: '5511999999999' }],
            messages: [{ from: '5511999999999', id: 'wamid.IN1', timestamp: '1700000000', type: 'text', text: { body: 'oi' } }],
          }),
        ),
      );
      assert.deepEqual(result.statuses, []);
      assert.deepEqual(result.inbound, [
        {
          channel: 'whatsapp',
          from: '+5511999999999',
          to: '100000000000001',
          profile_name: 'Ana',
          provider_message_id: 'wamid.IN1',
          provider_timestamp: '2023-11-14T22:13:20.000Z',
          payload: { type: 'text', text: 'oi' },
        },
      ]);
    });

    it('falls back to phone_number_id when there is no display number', () => {
      const result = wa.parseWebhook(
        signed(
          envelope({
            metadata: { phone_number_id: '100000000000001' },
            messages: [{ from: '5511', id: 'wamid.IN2', timestamp: '1700000000', type: 'text', text: { body: 'x' } }],
          }),
        ),
      );
      assert.equal(result.inbound[0]?.to, '100000000000001');
    });

    it('ignores other fields, other objects and unknown keys', () => {
      const statuses = [{ id: 'wamid.9', status: 'sent', timestamp: '1700000000', pricing: { billable: true } }];
      assert.equal(wa.parseWebhook(signed(envelope({ statuses }, 'account_update'))).statuses.length, 0);
      assert.equal(wa.parseWebhook(signed({ ...envelope({ statuses }), object: 'instagram' })).statuses.length, 0);
      assert.equal(wa.parseWebhook(signed(envelope({ statuses, surprise: 1 }))).statuses.length, 1);
    });

    it('rejects a tampered body, a missing header and a wrong secret with 401', () => {
      const good = signed(envelope({ statuses: [] }));
      const tampered = { ...good, rawBody: Buffer.from(good.rawBody.toString().replace('[]', '[{}]')) };
      for (const request of [tampered, { rawBody: good.rawBody, headers: {} }, signed(envelope({ statuses: [] }), 'other')]) {
        assert.throws(
          () => wa.parseWebhook(request),
          (err: unknown) => err instanceof AppError && err.status === 401 && err.code === 'bad_signature',
        );
      }
    });

    it('rejects a signed body that is not JSON with 400', () => {
      assert.throws(
        () => wa.parseWebhook(signed('{"object": nope')),
        (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'bad_webhook',
      );
    });
  });
});

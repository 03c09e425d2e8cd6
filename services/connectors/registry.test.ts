import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { signMetaPayload } from './meta-signature.ts';
import { buildConnectors, type ConnectorSettings } from './registry.ts';
import { startScriptedProvider, type ScriptedProvider } from './scripted-provider.ts';

describe('buildConnectors', () => {
  let provider: ScriptedProvider;
  let settings: ConnectorSettings;

  before(async () => {
    provider = await startScriptedProvider();
    settings = {
      whatsapp: { baseUrl: provider.url, apiVersion: 'v20.0', phoneNumberId: 'PN1', accessToken: 'wa-token' },
      instagram: { baseUrl: provider.url, apiVersion: 'v22.0', accountId: 'IG1', accessToken: 'ig-token' },
      appSecret: 'shared-secret',
      verifyToken: 'shared-verify',
      timeoutMs: 2000,
    };
  });
  after(() => provider.close());

  it('builds one plug-in per external channel, keyed by its own channel name', () => {
    const connectors = buildConnectors(settings);
    assert.deepEqual([...connectors.keys()].sort(), [...EXTERNAL_CHANNELS].sort());
    for (const [channel, connector] of connectors) assert.equal(connector.channel, channel);
  });

  it("passes each channel's own settings through", async () => {
    provider.reply(
      { status: 200, body: { messages: [{ id: 'wamid.R' }] } },
      { status: 200, body: { recipient_id: 'x', message_id: 'mid.R' } },
    );
    const connectors = buildConnectors(settings);
    await connectors.get('whatsapp')?.sendText('5511', 'a');
    await connectors.get('instagram')?.sendText('IGSID', 'b');
    assert.deepEqual(
      provider.requests.map((r) => [r.path, r.headers.authorization]),
      [
        ['/v20.0/PN1/messages', 'Bearer wa-token'],
        ['/v22.0/IG1/messages', 'Bearer ig-token'],
      ],
    );
  });

  it('gives every plug-in the shared app secret and verify token', () => {
    const raw = Buffer.from('{"object":"x","entry":[]}');
    for (const connector of buildConnectors(settings).values()) {
      assert.doesNotThrow(() => connector.parseWebhook({ rawBody: raw, headers: { 'x-hub-signature-256': signMetaPayload(raw, 'shared-secret') } }));
      const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'shared-verify', 'hub.challenge': 'c' };
      assert.equal(connector.verifySubscription(query).status, 200, connector.channel);
    }
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, eventually } from '../support/api-client.ts';
import { startTestPlatform } from '../support/embedded.ts';

interface Received { channel: string; to: string; text?: string }

describe('identity verification end to end: the code goes out through the channel, the link receives only once verified', () => {
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let anon: ApiClient;
  let sim: ApiClient;

  before(async () => {
    platform = await startTestPlatform({ IDENTITY_VERIFICATION: 'on' });
    anon = new ApiClient(platform.apiUrl);
    sim = new ApiClient(platform.simUrl!);
  });
  after(async () => {
    await platform?.stop();
  });

  const receivedBy = async (to: string) =>
    (await sim.call<{ received: Received[] }>('GET', `/_sim/received?channel=whatsapp&to=${encodeURIComponent(to)}`)).body.received;

  it('a pending WhatsApp link gets the code and no messages; verified, it gets the next message', async () => {
    const [a, b] = [await anon.newUser('alice'), await anon.newUser('bob')];
    const phone = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const linked = await b.client.call<{ verified: boolean }>('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: phone });
    assert.equal(linked.status, 201);
    assert.equal(linked.body.verified, false);
    const conv = await a.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [b.userId] });
    const send = (text: string) => a.client.call('POST', '/v1/messages', { conversation_id: conv.body.conversation_id, channels: ['all'], payload: { type: 'text', text } });

    // The simulator received the code as a text to the number.
    const codeText = await eventually(async () => (await receivedBy(phone)).find((r) => /code is \d{6}/.test(r.text ?? ''))?.text, 'the code at the simulator');
    const code = /code is (\d{6})/.exec(codeText)![1]!;
    assert.equal((await send('before verification')).status, 202);

    const verified = await b.client.call<{ verified: boolean }>('POST', `/v1/users/me/identities/whatsapp/${encodeURIComponent(phone)}/verify`, { code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.verified, true);
    assert.equal((await send('after verification')).status, 202);
    await eventually(async () => (await receivedBy(phone)).some((r) => r.text === 'after verification'), 'the message after verification');
    const texts = (await receivedBy(phone)).map((r) => r.text);
    assert.equal(texts.includes('before verification'), false, 'the pending link received nothing');
    assert.equal(texts.filter((t) => /code is/.test(t ?? '')).length, 1, 'one code');
  });
});

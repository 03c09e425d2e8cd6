import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform } from '../../test/support/embedded.ts';
import { runCli } from './run-cli.ts';
import { EXIT } from './cli-error.ts';

describe('chat4all demo cross-channel', { timeout: 120_000 }, () => {
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;

  before(async () => {
    // Identities are verified with the one-time code, as in production.
    platform = await startTestPlatform({ IDENTITY_VERIFICATION: 'on' });
  });
  after(async () => {
    await platform?.stop();
  });

  it('Maria writes on WhatsApp, Bob reads on Instagram and answers, Maria receives it on WhatsApp; each message shows its path', async () => {
    const out: string[] = [];
    const code = await runCli(['demo', 'cross-channel', '--api', platform.apiUrl, '--sim', platform.simUrl!], {
      env: {},
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
      readStdin: async () => '',
    });
    const text = out.join('\n');
    assert.equal(code, EXIT.ok, text);
    // The three messages, each with its hops: accepted, the provider's status, the far end.
    assert.match(text, /1\. Bob → Maria, from the app/);
    assert.match(text, /2\. Maria → Bob, on WhatsApp[^\n]*\n(.*\n)*?.*instagram +SENT for Bob/);
    assert.match(text, /3\. Bob → Maria, on Instagram[^\n]*\n(.*\n)*?.*whatsapp +SENT for Maria/);
    assert.match(text, /at \+55\d+ \(provider\)/);
    // The app shows the conversation in order: Bob, Maria, Bob.
    const lines = text.split('\n');
    const shown = lines.slice(lines.findIndex((l) => l.includes('as the app shows it')) + 1);
    assert.match(shown[0]!, /#1 {2}Bob: Oi Maria/);
    assert.match(shown[1]!, /#2 {2}Maria: Oi Bob!/);
    assert.match(shown[2]!, /#3 {2}Bob: Chega sim/);
  });

  it('without a simulator to drive, it says what to pass', async () => {
    const err: string[] = [];
    const code = await runCli(['demo', 'cross-channel', '--api', platform.apiUrl], {
      env: { XDG_CONFIG_HOME: '/nonexistent-chat4all-config' },
      stdout: () => undefined,
      stderr: (s) => err.push(s),
      readStdin: async () => '',
    });
    assert.equal(code, EXIT.usage);
    assert.match(err.join('\n'), /--sim URL/);
  });
});

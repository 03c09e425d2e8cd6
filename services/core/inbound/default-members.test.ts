import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ConfigError, loadConfig } from '../config.ts';
import { parseInboundDefaultMembers } from './default-members.ts';

it('reads INBOUND_DEFAULT_MEMBERS per channel', () => {
  assert.deepEqual(parseInboundDefaultMembers(' whatsapp = alice, bob ; instagram=bob '), { whatsapp: ['alice', 'bob'], instagram: ['bob'] });
  assert.deepEqual(parseInboundDefaultMembers(''), {});
  assert.deepEqual(loadConfig({ INBOUND_DEFAULT_MEMBERS: 'whatsapp=alice' }).inboundDefaultMembers, { whatsapp: ['alice'] });
  assert.deepEqual(loadConfig({}).inboundDefaultMembers, {});
});

it('refuses a bad INBOUND_DEFAULT_MEMBERS at start, naming the part to fix', () => {
  assert.throws(() => parseInboundDefaultMembers('telegram=alice'), /channel must be one of whatsapp, instagram/);
  assert.throws(() => parseInboundDefaultMembers('whatsapp=alice;whatsapp=bob'), /named twice/);
  assert.throws(() => parseInboundDefaultMembers('whatsapp='), /at least one username/);
  assert.throws(() => parseInboundDefaultMembers('whatsapp=Alice Smith'), /is not a username/);
  assert.throws(
    () => loadConfig({ INBOUND_DEFAULT_MEMBERS: 'whatsapp', INBOUND_REORDER_WINDOW_MS: '-1' }),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('INBOUND_DEFAULT_MEMBERS:')) && e.problems.some((p) => p.startsWith('INBOUND_REORDER_WINDOW_MS:')),
  );
});

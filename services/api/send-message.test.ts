import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import type { Logger } from '../core/logger.ts';
import { AppError } from '../core/errors.ts';
import { sendMessage, type SendMessageDeps } from './send-message.ts';
import { traceRequested } from './trace-id.ts';

/** A logger that remembers the level and message of every line. */
function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: unknown, msg: string) => void lines.push({ level, msg });
  const logger = { info: at('info'), debug: at('debug'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

async function setUp() {
  const stores = openSqliteStores(':memory:');
  const [alice, bob] = [randomUUID(), randomUUID()];
  const conversation_id = randomUUID();
  await stores.conversations.createConversation({ conversation_id, type: 'private', members: [alice, bob], name: null, metadata: null, created_at: new Date().toISOString() });
  const { logger, lines } = recordingLogger();
  const admitted: [string, string, boolean][] = [];
  const deps: SendMessageDeps = {
    conversations: stores.conversations,
    messages: stores.messages,
    files: stores.files,
    bus: new InMemoryBus(1),
    clock: { now: () => Date.now() },
    logger,
    admit: async (sender, conversation, member) => void admitted.push([sender, conversation, member]),
  };
  const input = (sender: string, traced?: boolean) => ({
    sender_id: sender,
    conversation_id,
    channels: ['whatsapp'],
    payload: { type: 'text' as const, text: 'hi' },
    trace_id: randomUUID().replaceAll('-', ''),
    ...(traced === undefined ? {} : { traced }),
  });
  return { deps, lines, admitted, input, alice, conversation_id, close: () => stores.close() };
}

describe('sendMessage', () => {
  it('logs the acceptance at info only when the client asked for the trace', async () => {
    const t = await setUp();
    await sendMessage(t.deps, t.input(t.alice, true));
    await sendMessage(t.deps, t.input(t.alice, false));
    await sendMessage(t.deps, t.input(t.alice));
    assert.deepEqual(
      t.lines.filter((l) => l.msg === 'message accepted').map((l) => l.level),
      ['info', 'debug', 'debug'],
    );
    await t.close();
  });

  it('asks for the rate limits with whether the sender is a member, before refusing an outsider', async () => {
    const t = await setUp();
    const outsider = randomUUID();
    await assert.rejects(sendMessage(t.deps, t.input(outsider)), (e: unknown) => e instanceof AppError && e.status === 404);
    await sendMessage(t.deps, t.input(t.alice));
    assert.deepEqual(t.admitted, [
      [outsider, t.conversation_id, false],
      [t.alice, t.conversation_id, true],
    ]);
    await t.close();
  });
});

describe('traceRequested', () => {
  const req = (headers: Record<string, string>) => traceRequested({ headers });
  it('is true for a sampled traceparent or an x-request-id, false otherwise', () => {
    const id = 'ab'.repeat(16);
    assert.equal(req({ traceparent: `00-${id}-${'cd'.repeat(8)}-01` }), true);
    assert.equal(req({ traceparent: `00-${id}-${'cd'.repeat(8)}-00` }), false, 'not sampled');
    assert.equal(req({ traceparent: `00-${'0'.repeat(32)}-${'cd'.repeat(8)}-01` }), false, 'an all-zero trace id is ignored');
    assert.equal(req({ 'x-request-id': 'req-42' }), true);
    assert.equal(req({ 'x-request-id': 'no spaces allowed' }), false);
    assert.equal(req({}), false);
  });
});

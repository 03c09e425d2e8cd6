import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plainTextSend } from './plain-send.ts';
import { sendMessageRequest } from './schemas.ts';

const ID = '3f0c1c2e-8a4b-4c6d-9e8f-0a1b2c3d4e5f';
const base = { message_id: ID, conversation_id: 'c-1', channels: ['whatsapp'], payload: { type: 'text', text: 'hi' } };

/** Bodies around the plain send: valid, invalid, and valid but unusual. */
const cases: [string, unknown][] = [
  ['plain', base],
  ['no message_id', { ...base, message_id: undefined }],
  ['no channels (default all)', { conversation_id: 'c', payload: { type: 'text', text: 'x' } }],
  ['all', { ...base, channels: ['all'] }],
  ['three channels', { ...base, channels: ['internal', 'whatsapp', 'instagram'] }],
  ['all and another', { ...base, channels: ['all', 'whatsapp'] }],
  ['a repeated channel', { ...base, channels: ['whatsapp', 'whatsapp'] }],
  ['an unknown channel', { ...base, channels: ['sms'] }],
  ['no channel', { ...base, channels: [] }],
  ['channels not a list', { ...base, channels: 'whatsapp' }],
  ['a bad message_id', { ...base, message_id: 'not-a-uuid' }],
  ['a nil uuid', { ...base, message_id: '00000000-0000-0000-0000-000000000000' }],
  ['an upper-case uuid', { ...base, message_id: ID.toUpperCase() }],
  ['a numeric message_id', { ...base, message_id: 42 }],
  ['a null message_id', { ...base, message_id: null }],
  ['an empty conversation', { ...base, conversation_id: '' }],
  ['a long conversation', { ...base, conversation_id: 'c'.repeat(129) }],
  ['the longest conversation', { ...base, conversation_id: 'c'.repeat(128) }],
  ['a numeric conversation', { ...base, conversation_id: 7 }],
  ['a lone surrogate', { ...base, payload: { type: 'text', text: 'a\uD800b' } }],
  ['an emoji text', { ...base, payload: { type: 'text', text: '👋 olá' } }],
  ['an empty text', { ...base, payload: { type: 'text', text: '' } }],
  ['4096 emoji', { ...base, payload: { type: 'text', text: '👋'.repeat(4096) } }],
  ['4097 emoji', { ...base, payload: { type: 'text', text: '👋'.repeat(4097) } }],
  ['4097 letters', { ...base, payload: { type: 'text', text: 'a'.repeat(4097) } }],
  ['a file payload', { ...base, payload: { type: 'file', file_id: 'f-1' } }],
  ['a payload with more', { ...base, payload: { type: 'text', text: 'x', extra: 1 } }],
  ['no payload', { ...base, payload: undefined }],
  ['metadata', { ...base, metadata: { k: 'v' } }],
  ['null metadata', { ...base, metadata: null }],
  ['an unknown key', { ...base, priority: 'high' }],
  ['a __proto__ key', JSON.parse('{"__proto__":{"x":1},"conversation_id":"c","payload":{"type":"text","text":"x"}}')],
  ['an array', [base]],
  ['null', null],
];

describe('plainTextSend', () => {
  it('answers what the schema answers, or leaves the body to it', () => {
    let taken = 0;
    for (const [name, raw] of cases) {
      const body = JSON.parse(JSON.stringify(raw)) as unknown; // as a request body arrives
      const fast = plainTextSend(body);
      const schema = sendMessageRequest.safeParse(body);
      if (fast === undefined) continue;
      taken++;
      assert.ok(schema.success, `${name}: taken, but the schema refuses it`);
      assert.deepEqual(fast, schema.data, `${name}: the same value as the schema's`);
    }
    assert.ok(taken >= 8, `the plain cases are taken (${taken})`);
  });

  it('takes the plain sends and leaves everything unusual to the schema', () => {
    const takes = (raw: unknown) => plainTextSend(JSON.parse(JSON.stringify(raw))) !== undefined;
    assert.equal(takes(base), true);
    assert.equal(takes({ conversation_id: 'c', payload: { type: 'text', text: 'x' } }), true);
    for (const name of ['metadata', 'an unknown key', 'a file payload', 'a bad message_id', '4097 emoji', 'a lone surrogate']) {
      assert.equal(takes(cases.find(([n]) => n === name)![1]), false, name);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi, type TestResponse } from './test-api.ts';

/** Every refusal is an RFC 9457 problem without internals. */
function assertProblem(res: TestResponse, status: number) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(typeof res.body.type, 'string');
  assert.equal(typeof res.body.title, 'string');
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.detail, 'string');
  assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+/);
}

const fields = (res: TestResponse) => (res.body.errors ?? []).map((e: { field: string }) => e.field);

describe('bad input', () => {
  let api: TestApi;
  let token: string;
  let conversation_id: string;
  before(async () => {
    api = await startTestApi();
    const [a, b] = [await api.user(), await api.user()];
    token = a.token;
    conversation_id = (await api.request('POST', '/v1/conversations', { token, body: { type: 'private', members: [b.user_id] } })).body.conversation_id;
  });
  after(async () => {
    await api.close();
  });

  const post = (body: unknown) => api.request('POST', '/v1/messages', { token, body });

  it('answers 400 to malformed JSON', async () => {
    const res = await api.request('POST', '/v1/messages', { token, raw: '{"conversation_id": "x", ' });
    assertProblem(res, 400);
    assert.match(res.body.detail, /JSON/);
  });

  it('answers 400 naming the field for wrong types', async () => {
    const res = await post({ conversation_id: 42, payload: { type: 'text', text: 'x' } });
    assertProblem(res, 400);
    assert.deepEqual(fields(res), ['conversation_id']);
    assert.equal(typeof res.body.errors[0].message, 'string');
    const notObject = await post(['an', 'array']);
    assertProblem(notObject, 400);
  });

  it('names channels[0] for an unknown channel', async () => {
    const res = await post({ conversation_id, channels: ['sms'], payload: { type: 'text', text: 'x' } });
    assertProblem(res, 400);
    assert.deepEqual(fields(res), ['channels[0]']);
  });

  it('refuses empty and repeated channel lists', async () => {
    assertProblem(await post({ conversation_id, channels: [], payload: { type: 'text', text: 'x' } }), 400);
    const dup = await post({ conversation_id, channels: ['whatsapp', 'whatsapp'], payload: { type: 'text', text: 'x' } });
    assertProblem(dup, 400);
    assert.deepEqual(fields(dup), ['channels']);
  });

  it('names payload.text for a text of 4097 characters, and accepts 4096', async () => {
    const res = await post({ conversation_id, payload: { type: 'text', text: 'a'.repeat(4097) } });
    assertProblem(res, 400);
    assert.deepEqual(fields(res), ['payload.text']);
    assert.equal((await post({ conversation_id, payload: { type: 'text', text: 'a'.repeat(4096) } })).status, 202);
    assertProblem(await post({ conversation_id, payload: { type: 'text', text: '' } }), 400);
  });

  it('validates the payload type, file payloads and message_id', async () => {
    const noType = await post({ conversation_id, payload: { text: 'x' } });
    assertProblem(noType, 400);
    assert.deepEqual(fields(noType), ['payload.type']);
    const longCaption = await post({ conversation_id, payload: { type: 'file', file_id: 'f', caption: 'c'.repeat(1025) } });
    assert.deepEqual(fields(longCaption), ['payload.caption']);
    const badId = await post({ message_id: 'not-a-uuid', conversation_id, payload: { type: 'text', text: 'x' } });
    assert.deepEqual(fields(badId), ['message_id']);
    const badMeta = await post({ conversation_id, payload: { type: 'text', text: 'x' }, metadata: 'x' });
    assert.deepEqual(fields(badMeta), ['metadata']);
  });

  it('answers 413 to a body of 70 KiB', async () => {
    const res = await post({ conversation_id, payload: { type: 'text', text: 'a'.repeat(70 * 1024) } });
    assertProblem(res, 413);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const res = await api.request('POST', '/v1/messages', { token, raw: 'hello', headers: { 'content-type': 'text/plain' } });
    assertProblem(res, 415);
  });

  it('answers 404 problem+json to unknown routes and 400 to a malformed path escape', async () => {
    assertProblem(await api.request('GET', '/nope'), 404);
    assertProblem(await api.request('GET', '/v1/messages/%E0%A4%A', { token }), 400);
  });

  it('never answers 500 to odd bodies', async () => {
    const bodies = ['null', '1', '"str"', '[]', '{}', '{"payload":null}', '{"payload":{"type":"text","text":{}}}', '{"channels":"all"}', '\u0000', '{"__proto__":{"x":1}}'];
    for (const raw of bodies) {
      for (const path of ['/v1/messages', '/v1/conversations', '/auth/register', '/auth/token', '/v1/users/me/identities']) {
        const res = await api.request('POST', path, { token, raw });
        assert.ok(res.status >= 400 && res.status < 500, `${path} ${JSON.stringify(raw)} → ${res.status}`);
        assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      }
    }
  });

  it('counts refused messages by reason', async () => {
    await post({ conversation_id, channels: ['sms'], payload: { type: 'text', text: 'x' } });
    const text = await api.registry.metrics();
    assert.match(text, /messages_rejected_total\{reason="validation"[^}]*\} [1-9]/);
    assert.match(text, /messages_rejected_total\{reason="too_large"[^}]*\} [1-9]/);
  });
});

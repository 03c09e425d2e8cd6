import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instagramInbound } from './instagram-inbound.ts';

// `messaging[]` events as Meta's Instagram webhook reference documents them.
const who = { sender: { id: 'IGSID-77' }, recipient: { id: '17841400000000001' }, timestamp: 1700000000123 };
const at = '2023-11-14T22:13:20.123Z';
const one = (event: unknown) => {
  const out = instagramInbound(event, undefined);
  assert.equal(out.length, 1);
  return out[0]!;
};

describe('Instagram inbound events', () => {
  it('a text message', () => {
    assert.deepEqual(one({ ...who, message: { mid: 'aWdfZAG1faXRlbToxOklH', text: 'oi Bob' } }), {
      channel: 'instagram',
      from: 'IGSID-77',
      to: '17841400000000001',
      provider_message_id: 'aWdfZAG1faXRlbToxOklH',
      provider_timestamp: at,
      payload: { type: 'text', text: 'oi Bob' },
    });
  });

  it('image, video, audio, file and share attachments; several make one message each, with their own ids', () => {
    const attachments = ['image', 'video', 'audio', 'file', 'share'].map((type) => ({ type, payload: { url: `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${type}` } }));
    const out = instagramInbound({ ...who, message: { mid: 'mid.A', attachments } }, undefined);
    assert.deepEqual(
      out.map((m) => ('payload' in m ? [m.provider_message_id, m.payload] : m)),
      attachments.map((a, i) => [i === 0 ? 'mid.A' : `mid.A#${i + 1}`, { type: 'media', media: { kind: a.type, url: a.payload.url } }]),
    );
  });

  it('a reel is a shared post; an attachment of a type we do not know is refused with its reason', () => {
    const out = instagramInbound(
      { ...who, message: { mid: 'mid.R', attachments: [{ type: 'ig_reel', payload: { url: 'https://www.instagram.com/reel/x', title: 'um reel' } }, { type: 'hologram', payload: { url: 'https://x' } }] } },
      undefined,
    );
    assert.deepEqual(out, [
      { channel: 'instagram', from: 'IGSID-77', to: '17841400000000001', provider_message_id: 'mid.R', provider_timestamp: at, payload: { type: 'media', media: { kind: 'share', url: 'https://www.instagram.com/reel/x' }, caption: 'um reel' } },
      { channel: 'instagram', type: 'attachment:hologram', reason: 'unknown_type', from: 'IGSID-77', provider_message_id: 'mid.R#2' },
    ]);
  });

  it('a reaction and its removal name the message; each has an id of its own, stable across retries', () => {
    const react = one({ ...who, reaction: { mid: 'mid.OURS', action: 'react', reaction: 'love', emoji: '❤️' } });
    assert.ok('payload' in react);
    assert.deepEqual(react.payload, { type: 'reaction', reacts_to: { provider_message_id: 'mid.OURS' }, emoji: '❤️' });
    assert.equal(react.provider_message_id, 'mid.OURS#reaction-react-1700000000123');
    const unreact = one({ ...who, timestamp: 1700000001000, reaction: { mid: 'mid.OURS', action: 'unreact' } });
    assert.ok('payload' in unreact);
    assert.deepEqual(unreact.payload, { type: 'reaction', reacts_to: { provider_message_id: 'mid.OURS' }, emoji: null });
    assert.notEqual(unreact.provider_message_id, react.provider_message_id);
    assert.deepEqual(one({ ...who, reaction: { mid: 'mid.OURS', action: 'react', reaction: 'love', emoji: '❤️' } }), react);
  });

  it('an edit and an unsend never take the id of the message they change', () => {
    const edit = one({ ...who, message_edit: { mid: 'mid.E', text: 'corrigido', num_edit: 2 } });
    assert.ok('payload' in edit);
    assert.deepEqual(edit.payload, { type: 'edit', edits: { provider_message_id: 'mid.E' }, text: 'corrigido' });
    assert.equal(edit.provider_message_id, 'mid.E#edit-2');
    const deleted = one({ ...who, message: { mid: 'mid.E', is_deleted: true } });
    assert.ok('payload' in deleted);
    assert.deepEqual(deleted.payload, { type: 'deletion', deletes: { provider_message_id: 'mid.E' } });
    assert.equal(deleted.provider_message_id, 'mid.E#deleted');
  });

  it('an unsupported message is kept; a postback is the title tapped', () => {
    const unsupported = one({ ...who, message: { mid: 'mid.U', is_unsupported: true } });
    assert.ok('payload' in unsupported);
    assert.equal(unsupported.payload.type, 'unsupported');
    const postback = one({ ...who, postback: { mid: 'mid.P', title: 'Falar com alguém', payload: 'HUMAN' } });
    assert.ok('payload' in postback);
    assert.deepEqual(postback.payload, { type: 'text', text: 'Falar com alguém' });
  });

  it('refuses events it does not take and items it cannot read, with a reason', () => {
    assert.deepEqual(one({ ...who, referral: { ref: 'ad', source: 'ADS' } }), { channel: 'instagram', type: 'referral', reason: 'unknown_type', from: 'IGSID-77' });
    assert.deepEqual(one({ ...who, message: { text: 'no mid' } }), { channel: 'instagram', type: 'message', reason: 'malformed', from: 'IGSID-77' });
    assert.deepEqual(one({ timestamp: 1, message: { mid: 'm', text: 'no sender' } }), { channel: 'instagram', type: 'message', reason: 'malformed' });
    assert.equal(one({ ...who, message: { mid: 'mid.empty' } }).provider_message_id, 'mid.empty');
    const junk = one(42);
    assert.ok(!('payload' in junk));
    assert.equal(junk.type, 'unknown');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InboundMessage, RefusedInbound } from './channel-connector.ts';
import { profileNames, whatsAppInbound } from './whatsapp-inbound.ts';

// Shapes as Meta's webhook reference documents them (messages webhook, one item each).
const base = { from: '5511988887777', id: 'wamid.HBgNNTUxMTk4ODg4Nzc3NxUCABIYFjNFQjBDMEQ', timestamp: '1700000000' };
const ctx = { to: '100000000000002', profileNames: profileNames([{ profile: { name: 'Maria' }, wa_id: '5511988887777' }]) };
const at = '2023-11-14T22:13:20.000Z';

function accepted(item: unknown): InboundMessage {
  const m = whatsAppInbound(item, ctx);
  assert.ok('payload' in m, `expected a message, got ${JSON.stringify(m)}`);
  return m;
}
function refused(item: unknown): RefusedInbound {
  const m = whatsAppInbound(item, ctx);
  assert.ok(!('payload' in m), `expected a refusal, got ${JSON.stringify(m)}`);
  return m;
}

describe('WhatsApp inbound messages', () => {
  it('a text, with the sender, our number, the profile name and the provider time', () => {
    assert.deepEqual(accepted({ ...base, type: 'text', text: { body: 'Oi! Tudo bem?' } }), {
      channel: 'whatsapp',
      from: '+5511988887777',
      to: '100000000000002',
      profile_name: 'Maria',
      provider_message_id: base.id,
      provider_timestamp: at,
      payload: { type: 'text', text: 'Oi! Tudo bem?' },
    });
  });

  it('image, video, audio (voice note), document and sticker keep media id, mime type, sha256, caption and filename', () => {
    const sha = 'ZGVhZGJlZWY=';
    assert.deepEqual(accepted({ ...base, type: 'image', image: { caption: 'a praia', mime_type: 'image/jpeg', sha256: sha, id: '1481234' } }).payload, {
      type: 'media',
      media: { kind: 'image', provider_media_id: '1481234', mime_type: 'image/jpeg', sha256: sha },
      caption: 'a praia',
    });
    assert.deepEqual(accepted({ ...base, type: 'video', video: { mime_type: 'video/mp4', sha256: sha, id: '1481235' } }).payload, {
      type: 'media',
      media: { kind: 'video', provider_media_id: '1481235', mime_type: 'video/mp4', sha256: sha },
    });
    assert.deepEqual(accepted({ ...base, type: 'audio', audio: { mime_type: 'audio/ogg; codecs=opus', sha256: sha, id: '1481236', voice: true } }).payload, {
      type: 'media',
      media: { kind: 'audio', provider_media_id: '1481236', mime_type: 'audio/ogg; codecs=opus', sha256: sha, voice: true },
    });
    assert.deepEqual(
      accepted({ ...base, type: 'document', document: { caption: 'contrato', filename: 'contrato.pdf', mime_type: 'application/pdf', sha256: sha, id: '1481237' } }).payload,
      { type: 'media', media: { kind: 'document', provider_media_id: '1481237', mime_type: 'application/pdf', sha256: sha, filename: 'contrato.pdf' }, caption: 'contrato' },
    );
    assert.deepEqual(accepted({ ...base, type: 'sticker', sticker: { mime_type: 'image/webp', sha256: sha, id: '1481238', animated: false } }).payload, {
      type: 'media',
      media: { kind: 'sticker', provider_media_id: '1481238', mime_type: 'image/webp', sha256: sha },
    });
  });

  it('a reaction names the message reacted to; no emoji means the reaction was removed', () => {
    assert.deepEqual(accepted({ ...base, type: 'reaction', reaction: { message_id: 'wamid.OURS', emoji: '❤️' } }).payload, {
      type: 'reaction',
      reacts_to: { provider_message_id: 'wamid.OURS' },
      emoji: '❤️',
    });
    assert.deepEqual(accepted({ ...base, type: 'reaction', reaction: { message_id: 'wamid.OURS' } }).payload, {
      type: 'reaction',
      reacts_to: { provider_message_id: 'wamid.OURS' },
      emoji: null,
    });
  });

  it('an unsupported message is kept, with what WhatsApp said about it', () => {
    const item = {
      ...base,
      type: 'unsupported',
      errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
      unsupported: { type: 'poll' },
    };
    assert.deepEqual(accepted(item).payload, {
      type: 'unsupported',
      provider_type: 'poll',
      reason: 'Message type unknown: Message type is currently not supported.',
    });
  });

  it('location, shared contacts, an edit, a revoke and a tapped button', () => {
    assert.deepEqual(accepted({ ...base, type: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'Sé', address: 'Praça da Sé' } }).payload, {
      type: 'location',
      latitude: -23.55,
      longitude: -46.63,
      name: 'Sé',
      address: 'Praça da Sé',
    });
    assert.deepEqual(
      accepted({ ...base, type: 'contacts', contacts: [{ name: { formatted_name: 'João Silva', first_name: 'João' }, phones: [{ phone: '+55 11 91234-5678', wa_id: '5511912345678', type: 'CELL' }] }] }).payload,
      { type: 'contacts', contacts: [{ name: 'João Silva', phones: ['+55 11 91234-5678'] }] },
    );
    assert.deepEqual(accepted({ ...base, type: 'edit', edit: { original_message_id: 'wamid.EARLIER', message: { type: 'text', text: { body: 'corrigido' } } } }).payload, {
      type: 'edit',
      edits: { provider_message_id: 'wamid.EARLIER' },
      text: 'corrigido',
    });
    assert.deepEqual(accepted({ ...base, type: 'revoke', revoke: { original_message_id: 'wamid.EARLIER' } }).payload, {
      type: 'deletion',
      deletes: { provider_message_id: 'wamid.EARLIER' },
    });
    assert.deepEqual(accepted({ ...base, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Sim' } } }).payload, { type: 'text', text: 'Sim' });
    assert.deepEqual(accepted({ ...base, type: 'button', button: { text: 'Parar', payload: 'STOP' } }).payload, { type: 'text', text: 'Parar' });
  });

  it('refuses system notices, orders, unknown types and unreadable items with a reason, never throwing', () => {
    const system = { ...base, type: 'system', system: { body: 'User A changed from 1 to 2', new_wa_id: '5511000000000', type: 'user_changed_number' } };
    assert.deepEqual(refused(system), { channel: 'whatsapp', type: 'system', reason: 'system_event', provider_message_id: base.id, from: `+${base.from}` });
    assert.equal(refused({ ...base, type: 'order', order: { catalog_id: '1', product_items: [] } }).reason, 'order_not_supported');
    assert.equal(refused({ ...base, type: 'hologram', hologram: {} }).reason, 'unknown_type');
    assert.equal(refused({ ...base, type: 'image', image: { caption: 'no id' } }).reason, 'malformed');
    assert.equal(refused({ ...base, type: 'text', text: { body: '' } }).reason, 'malformed');
    assert.equal(refused({ ...base, type: 'reaction' }).reason, 'malformed');
    assert.deepEqual(refused({ id: 'wamid.X', type: 'text' }), { channel: 'whatsapp', type: 'text', reason: 'malformed', provider_message_id: 'wamid.X' });
    assert.equal(refused(null).reason, 'malformed');
    assert.equal(refused({ ...base, timestamp: 'yesterday', type: 'text', text: { body: 'x' } }).reason, 'malformed');
  });

  it('a message without a profile name has none; contacts entries it cannot read are skipped', () => {
    const m = whatsAppInbound({ ...base, from: '5511000000001', type: 'text', text: { body: 'x' } }, { profileNames: profileNames([{ wa_id: '5511000000001' }, 'junk']) });
    assert.ok('payload' in m);
    assert.equal(m.profile_name, undefined);
    assert.equal(m.to, undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { instagramEchoWebhook, instagramReadWebhook } from './instagram-api.ts';
import { mergeWebhooks } from './webhook-merge.ts';
import { whatsAppInboundWebhook, whatsAppStatusWebhook, type WhatsAppAccount } from './whatsapp-api.ts';

const account: WhatsAppAccount = { wabaId: 'WABA', phoneNumberId: 'PN1', displayPhoneNumber: '1555' };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk Meta's nested payloads
type Any = any;

describe('mergeWebhooks', () => {
  test('WhatsApp: statuses of one phone number share a value, another phone number gets its own change, inbound keeps messages and contacts', () => {
    const status = (id: string, phoneNumberId = 'PN1') => whatsAppStatusWebhook(account, { phoneNumberId, messageId: id, status: 'sent', timestampMs: 1_700_000_000_000, recipientId: '55' });
    const inbound = whatsAppInboundWebhook(account, { phoneNumberId: 'PN1', from: '5511', name: 'Ana', message: { from: '5511', id: 'wamid.in', timestamp: '1700000000', type: 'text', text: { body: 'oi' } } });
    const merged = mergeWebhooks('whatsapp', [status('w1'), status('w2', 'PN2'), status('w3'), inbound]) as Any;
    assert.equal(merged.object, 'whatsapp_business_account');
    assert.equal(merged.entry.length, 1);
    const changes = merged.entry[0].changes;
    assert.deepEqual(changes.map((c: Any) => c.value.metadata.phone_number_id), ['PN1', 'PN2']);
    assert.deepEqual(changes[0].value.statuses.map((s: Any) => s.id), ['w1', 'w3'], 'in the order given');
    assert.deepEqual(changes[0].value.messages.map((m: Any) => m.id), ['wamid.in']);
    assert.deepEqual(changes[0].value.contacts, [{ profile: { name: 'Ana' }, wa_id: '5511' }]);
    assert.deepEqual(changes[1].value.statuses.map((s: Any) => s.id), ['w2']);
  });

  test('Instagram: events of one account share an entry, time the latest; one payload comes back unchanged', () => {
    const echo = instagramEchoWebhook({ accountId: 'IG', recipientId: 'u', mid: 'm1', timestampMs: 5, text: 'x' });
    const read = instagramReadWebhook({ accountId: 'IG', recipientId: 'u', mid: 'm1', timestampMs: 9 });
    const other = instagramReadWebhook({ accountId: 'IG2', recipientId: 'v', mid: 'm2', timestampMs: 7 });
    const merged = mergeWebhooks('instagram', [echo, read, other]) as Any;
    assert.deepEqual(merged.entry.map((e: Any) => [e.id, e.time, e.messaging.length]), [
      ['IG', 9, 2],
      ['IG2', 7, 1],
    ]);
    assert.equal(mergeWebhooks('instagram', [echo]), echo);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planDeliveries } from './routing.ts';
import type { Identity } from './types.ts';

const ids: Identity[] = [
  { user_id: 'b', channel: 'whatsapp', address: '+5511999990001', linked_at: '' },
  { user_id: 'b', channel: 'instagram', address: '1784', linked_at: '' },
  { user_id: 'c', channel: 'instagram', address: '1785', linked_at: '' },
];

describe('planDeliveries', () => {
  it('expands "all" to our channel plus every identity of each recipient, never the sender', () => {
    const plan = planDeliveries({ senderId: 'a', members: ['a', 'b', 'c'], requested: ['all'], identities: ids });
    assert.deepEqual(
      plan.map((p) => `${p.recipient_id}:${p.channel}:${p.address ?? ''}`),
      ['b:internal:', 'b:whatsapp:+5511999990001', 'b:instagram:1784', 'c:internal:', 'c:instagram:1785'],
    );
  });

  it('keeps to the requested channels', () => {
    const plan = planDeliveries({ senderId: 'a', members: ['a', 'b'], requested: ['whatsapp'], identities: ids });
    assert.deepEqual(plan.map((p) => p.channel), ['whatsapp']);
  });

  it('gives an unreachable recipient one FAILED delivery that says why', () => {
    const plan = planDeliveries({ senderId: 'a', members: ['a', 'c'], requested: ['whatsapp'], identities: ids });
    assert.equal(plan.length, 1);
    assert.equal(plan[0]!.failed?.code, 'recipient_unreachable');
    assert.match(plan[0]!.failed!.message, /whatsapp/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition, summarizeStatus } from './status.ts';

describe('status rules', () => {
  it('moves only forward: SENT → DELIVERED → READ, skipping allowed', () => {
    assert.ok(canTransition('SENT', 'DELIVERED'));
    assert.ok(canTransition('DELIVERED', 'READ'));
    assert.ok(canTransition('SENT', 'READ'), 'Instagram has no delivered event');
    assert.ok(!canTransition('READ', 'DELIVERED'));
    assert.ok(!canTransition('DELIVERED', 'SENT'));
    assert.ok(!canTransition('READ', 'READ'), 'a repeat is not a transition');
  });

  it('fails only what was not delivered, and FAILED is final', () => {
    assert.ok(canTransition('SENT', 'FAILED'));
    assert.ok(!canTransition('DELIVERED', 'FAILED'));
    assert.ok(!canTransition('READ', 'FAILED'));
    assert.ok(!canTransition('FAILED', 'DELIVERED'));
    assert.ok(!canTransition('FAILED', 'READ'));
  });

  it('summarizes a message from its deliveries per recipient', () => {
    assert.equal(summarizeStatus([]), 'SENT');
    const d = (recipient_id: string, status: 'SENT' | 'DELIVERED' | 'READ' | 'FAILED') => ({ recipient_id, status });
    assert.equal(summarizeStatus([d('b', 'DELIVERED'), d('b', 'SENT'), d('c', 'SENT')]), 'SENT');
    assert.equal(summarizeStatus([d('b', 'DELIVERED'), d('c', 'READ')]), 'DELIVERED');
    assert.equal(summarizeStatus([d('b', 'READ'), d('b', 'SENT'), d('c', 'READ')]), 'READ');
    assert.equal(summarizeStatus([d('b', 'FAILED'), d('b', 'DELIVERED')]), 'DELIVERED', 'another channel still reached b');
    assert.equal(summarizeStatus([d('b', 'FAILED'), d('c', 'READ')]), 'FAILED', 'b can no longer be reached');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BusMessage } from '../core/ports/bus.ts';
import { realtimeRecord } from '../core/publish-realtime.ts';
import type { TypingEvent } from '../core/realtime-events.ts';
import { mayConcern } from './realtime-filter.ts';

const record = (headers: Record<string, string>): BusMessage => ({ topic: 't', partition: 0, offset: '0', key: 'c', value: '{}', headers });
const typing = (members: string[]): TypingEvent => ({ type: 'typing', conversation_id: 'c', user_id: members[0]!, routed_at: 0, members });

describe('deciding from its header whether a realtime record concerns this gateway', () => {
  const here = new Set(['bob']);
  const connected = (u: string) => here.has(u);

  it('skips every record while nobody is connected', () => {
    assert.equal(mayConcern(record(realtimeRecord(typing(['ann', 'bob'])).headers!), 0, () => true), false);
    assert.equal(mayConcern(record({}), 0, () => true), false);
  });

  it('takes a record naming a connected user, skips one naming none', () => {
    assert.equal(mayConcern(record(realtimeRecord(typing(['ann', 'bob'])).headers!), here.size, connected), true);
    assert.equal(mayConcern(record(realtimeRecord(typing(['ann', 'cid'])).headers!), here.size, connected), false);
  });

  it('decodes a record without a readable header (older publishers, conversations over 64 members)', () => {
    assert.equal(mayConcern(record({}), here.size, connected), true);
    assert.equal(mayConcern(record({ members: 'not json' }), here.size, connected), true);
    const big = realtimeRecord(typing(Array.from({ length: 65 }, (_, i) => `u${i}`)));
    assert.equal(big.headers?.members, undefined, 'no header above 64 members');
    assert.equal(mayConcern(record(big.headers!), here.size, connected), true);
  });
});

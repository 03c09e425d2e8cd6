import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentSends } from './recent-sends.ts';

describe('RecentSends', () => {
  const send = (n: number) => ({ delivery_id: `d${n}`, created_at: '2026-01-01T00:00:00.000Z', trace_id: `t${n}` });

  it('finds a send by its channel and provider id only', () => {
    const recent = new RecentSends();
    recent.remember('whatsapp', 'wamid.1', send(1));
    assert.deepEqual(recent.find('whatsapp', 'wamid.1'), send(1));
    assert.equal(recent.find('instagram', 'wamid.1'), undefined);
    assert.equal(recent.find('whatsapp', 'wamid.2'), undefined);
  });

  it('keeps at most its limit, forgetting the oldest first', () => {
    const recent = new RecentSends(2);
    for (const n of [1, 2, 3]) recent.remember('whatsapp', `wamid.${n}`, send(n));
    assert.equal(recent.size, 2);
    assert.equal(recent.find('whatsapp', 'wamid.1'), undefined);
    assert.deepEqual([recent.find('whatsapp', 'wamid.2'), recent.find('whatsapp', 'wamid.3')], [send(2), send(3)]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentSends } from './recent-sends.ts';

describe('RecentSends', () => {
  const send = (n: number) => ({ delivery_id: `d${n}`, created_at: '2026-01-01T00:00:00.000Z', trace_id: `t${n}` });
  const written = Promise.resolve(true);

  it('finds a send by its channel and provider id only', async () => {
    const recent = new RecentSends();
    recent.note('whatsapp', 'wamid.1', send(1), written);
    assert.deepEqual(await recent.find('whatsapp', 'wamid.1'), send(1));
    assert.equal(await recent.find('instagram', 'wamid.1'), undefined);
    assert.equal(await recent.find('whatsapp', 'wamid.2'), undefined);
  });

  it('answers a send whose id is still being written once the write is done', async () => {
    const recent = new RecentSends();
    let finish!: (ok: boolean) => void;
    recent.note('whatsapp', 'wamid.1', send(1), new Promise<boolean>((r) => (finish = r)));
    let found: unknown = 'pending';
    const lookup = recent.find('whatsapp', 'wamid.1').then((s) => (found = s));
    await new Promise((r) => setImmediate(r));
    assert.equal(found, 'pending', 'not before the write');
    finish(true);
    await lookup;
    assert.deepEqual(found, send(1));
  });

  it('forgets a send whose write found another id or failed: the store decides', async () => {
    const recent = new RecentSends();
    recent.note('whatsapp', 'wamid.1', send(1), Promise.resolve(false));
    recent.note('whatsapp', 'wamid.2', send(2), Promise.reject(new Error('disk full')));
    assert.equal(await recent.find('whatsapp', 'wamid.1'), undefined);
    assert.equal(await recent.find('whatsapp', 'wamid.2'), undefined);
    assert.equal(recent.size, 0);
  });

  it('keeps at most its limit, forgetting the oldest first', async () => {
    const recent = new RecentSends(2);
    for (const n of [1, 2, 3]) recent.note('whatsapp', `wamid.${n}`, send(n), written);
    assert.equal(recent.size, 2);
    assert.equal(await recent.find('whatsapp', 'wamid.1'), undefined);
    assert.deepEqual([await recent.find('whatsapp', 'wamid.2'), await recent.find('whatsapp', 'wamid.3')], [send(2), send(3)]);
  });
});

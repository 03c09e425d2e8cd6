import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitCoalescer, type OffsetsToCommit } from './commit-coalescer.ts';

describe('offset commits gathered per turn', () => {
  it('sends the commits asked for in one turn as one request, each caller waiting for it', async () => {
    const c = new CommitCoalescer();
    const requests: OffsetsToCommit[] = [];
    const send = async (o: OffsetsToCommit) => void requests.push(o);
    let settled = 0;
    const asks = [c.commit('a', 0, '5', send), c.commit('a', 3, '9', send), c.commit('b', 1, '2', send)].map((p) => p.then(() => settled++));
    assert.equal(requests.length, 0, 'nothing sent inside the turn');
    await Promise.all(asks);
    assert.equal(settled, 3);
    assert.deepEqual(requests, [{ topics: [{ topic: 'a', partitions: [{ partition: 0, offset: '5' }, { partition: 3, offset: '9' }] }, { topic: 'b', partitions: [{ partition: 1, offset: '2' }] }] }]);
    await c.commit('a', 0, '6', send);
    assert.equal(requests.length, 2, 'a later turn: a request of its own');
  });

  it('with a minimum interval, commits a partition at most once per interval and drops the commits in between', async () => {
    let t = 0;
    const c = new CommitCoalescer(1000, () => t);
    const requests: OffsetsToCommit[] = [];
    const send = async (o: OffsetsToCommit) => void requests.push(o);
    await c.commit('a', 0, '1', send);
    t = 500;
    await Promise.all([c.commit('a', 0, '2', send), c.commit('a', 1, '7', send)]);
    t = 1000;
    await c.commit('a', 0, '3', send);
    const sent = requests.flatMap((r) => r.topics.flatMap((x) => x.partitions.map((p) => `${x.topic}/${p.partition}@${p.offset}`)));
    assert.deepEqual(sent, ['a/0@1', 'a/1@7', 'a/0@3'], 'a/0@2 dropped: within a second of a/0@1');
  });

  it('fails every caller of a request that failed', async () => {
    const c = new CommitCoalescer();
    const send = async () => {
      throw new Error('REBALANCE_IN_PROGRESS');
    };
    const results = await Promise.allSettled([c.commit('a', 0, '1', send), c.commit('a', 1, '1', send)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});

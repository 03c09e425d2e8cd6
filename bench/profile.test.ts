import { it } from 'node:test';
import assert from 'node:assert/strict';
import { areaOf, histogramMeansOf, summarizeProfile } from './profile.ts';

it('sums self time per function and per area from a V8 CPU profile', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('acceptMessage', 'file:///repo/services/core/adapters/sqlite/message-store.ts', 52) },
      { id: 4, callFrame: frame('sqliteTransaction', 'file:///repo/node_modules/better-sqlite3/lib/methods/transaction.js', 51) },
      { id: 5, callFrame: frame('(garbage collector)', '') },
    ],
    // Sample i is attributed to node samples[i] for timeDeltas[i] µs.
    samples: [2, 3, 3, 4, 5, 2],
    timeDeltas: [1000, 2000, 2000, 3000, 1000, 1000],
    startTime: 0,
    endTime: 10_000,
  };
  const s = summarizeProfile(profile);
  assert.equal(s.total_ms, 10);
  assert.deepEqual(
    s.areas.map((a) => [a.area, a.ms, a.percent]),
    [
      ['services/core', 4, 40],
      ['better-sqlite3', 3, 30],
      ['idle', 2, 20],
      ['gc', 1, 10],
    ],
  );
  assert.equal(s.top[0]!.fn, 'acceptMessage services/core/adapters/sqlite/message-store.ts:53');
  assert.ok(!s.top.some((t) => t.area === 'idle'), 'idle is not a function to optimise');
});

it('names areas: our folders, packages (scoped too), node internals', () => {
  assert.equal(areaOf('file:///x/services/router/relay.ts', 'tick'), 'services/router');
  assert.equal(areaOf('file:///x/node_modules/@kubernetes/client-node/dist/a.js', 'f'), '@kubernetes/client-node');
  assert.equal(areaOf('node:internal/streams/writable', 'write'), 'node internals');
  assert.equal(areaOf('', '(program)'), 'program (native, outside JS)');
});

it('reads the mean of every *_seconds histogram from /metrics text, summed over labels', () => {
  const text = [
    '# TYPE processing_duration_seconds histogram',
    'processing_duration_seconds_bucket{le="0.1"} 3',
    'processing_duration_seconds_sum{topic="a"} 0.03',
    'processing_duration_seconds_count{topic="a"} 2',
    'processing_duration_seconds_sum{topic="b"} 0.05',
    'processing_duration_seconds_count{topic="b"} 2',
    'messages_accepted_total 10',
  ].join('\n');
  assert.deepEqual(histogramMeansOf(text), { processing_duration_seconds: { mean_ms: 20, count: 4 } });
});

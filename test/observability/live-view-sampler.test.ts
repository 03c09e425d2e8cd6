import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText, quantile } from '../../services/platform/live-view-sampler.ts';

test('the Prometheus text parser reads names, escaped labels and values', () => {
  const samples = parsePromText(
    '# HELP x help\n# TYPE x counter\nx{a="1",b="q\\"uote"} 3\nplain 4.5\nh_bucket{le="+Inf"} 7\n',
  );
  assert.deepEqual(samples, [
    { name: 'x', labels: { a: '1', b: 'q"uote' }, value: 3 },
    { name: 'plain', labels: {}, value: 4.5 },
    { name: 'h_bucket', labels: { le: '+Inf' }, value: 7 },
  ]);
});

test('quantiles interpolate inside the bucket like histogram_quantile', () => {
  const buckets = new Map([[0.1, 50], [1, 90], [10, 100], [Infinity, 100]]);
  assert.equal(quantile(0.5, buckets), 0.1);
  assert.ok(Math.abs(quantile(0.7, buckets)! - 0.55) < 1e-9);
  assert.ok(Math.abs(quantile(0.95, buckets)! - 5.5) < 1e-9);
  assert.equal(quantile(0.5, new Map([[1, 0], [Infinity, 0]])), null);
  // Everything above the highest finite bucket: its bound, as Prometheus answers.
  assert.equal(quantile(0.99, new Map([[1, 0], [Infinity, 5]])), 1);
});

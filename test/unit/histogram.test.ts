import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weightHistogram } from '../../src/core/analysis/histogram.ts';

test('weightHistogram: equal-width bins, the last one closed (numpy convention)', () => {
  const values = Float64Array.from({ length: 100 }, (_, i) => i); // 0..99 over [0, 99]
  const h = weightHistogram(values, 0, 99, 10);
  // Edges 0, 9.9, 19.8, …: bin b holds ⌈9.9(b+1)⌉ − ⌈9.9b⌉ integers, and 99 falls in the last bin.
  assert.deepEqual(h.counts, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
  assert.deepEqual(weightHistogram([-1, -0.5, 0, 0.5, 1], -1, 1, 4).counts, [1, 1, 1, 2]);
});

test('weightHistogram: a constant layer puts everything in the first bin', () => {
  assert.deepEqual(weightHistogram([3, 3, 3], 3, 3, 4).counts, [3, 0, 0, 0]);
});

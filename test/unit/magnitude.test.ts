/**
 * Magnitude pruning's kernels in closed form: exactly k entries of smallest |w − c| set to c, ties
 * broken by index, ε-targeted counts, the median centre, and one global threshold over tensors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneLowestScores, pruneMagnitude, pruneMagnitudeGlobal } from '../../src/core/pruning/magnitude.ts';

const f64 = (v: number[]) => Float64Array.from(v);

test('pruneLowestScores: exactly k entries, the smallest scores, ties in index order; k ≤ 0 and k ≥ n', () => {
  const values = f64([10, 11, 12, 13, 14, 15]);
  const scores = f64([3, 1, 2, 1, 5, 1]);
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 2, 0)), [10, 0, 12, 0, 14, 15]); // two of the three 1s, the first two
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 3, -1)), [10, -1, 12, -1, 14, -1]);
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 4, 0)), [10, 0, 0, 0, 14, 0]);
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 5, 0)), [0, 0, 0, 0, 14, 0]);
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 0, 0)), Array.from(values));
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, -1, 0)), Array.from(values));
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 6, 7)), [7, 7, 7, 7, 7, 7]);
  assert.deepEqual(Array.from(pruneLowestScores(values, scores, 9, 7)), [7, 7, 7, 7, 7, 7]);
  assert.deepEqual(Array.from(values), [10, 11, 12, 13, 14, 15], 'the input is not changed');
});

test('pruneMagnitude by ratio: k = ⌊ratio·n⌋ (no float shortfall), the relative error ‖W − W′‖/‖W − c‖ of what went', () => {
  const w = [0.5, -3, 1, -0.25, 4, 2, -1.5, 0.75, -2, 3]; // n = 10
  const r = pruneMagnitude(w, { ratio: 0.3 });
  assert.equal(r.k, 3);
  assert.equal(pruneMagnitude(Array.from({ length: 100 }, (_, i) => i + 1), { ratio: 0.57 }).k, 57); // 0.57·100 = 56.99999999999999 in floating point
  assert.equal(r.n, 10);
  assert.equal(r.centre, 0);
  assert.deepEqual(Array.from(r.values), [0, -3, 1, 0, 4, 2, -1.5, 0, -2, 3]);
  const sq = (v: number[]) => v.reduce((a, x) => a + x * x, 0);
  assert.ok(Math.abs(r.relErr - Math.sqrt(sq([0.5, -0.25, 0.75]) / sq(w))) < 1e-15, String(r.relErr));
});

test('pruneMagnitude with the median centre: the pruned entries take the median, the error is relative to ‖W − median‖', () => {
  const w = [1, 2, 3, 4, 100]; // median 3: |w − 3| = 2, 1, 0, 1, 97
  const r = pruneMagnitude(w, { ratio: 0.6 }, 'median');
  assert.equal(r.centre, 3);
  assert.equal(r.k, 3);
  assert.deepEqual(Array.from(r.values), [1, 3, 3, 3, 100]);
  assert.ok(Math.abs(r.relErr - Math.sqrt((1 + 0 + 1) / (4 + 1 + 0 + 1 + 97 * 97))) < 1e-15);
});

test('pruneMagnitude by ε: the most entries whose relative error stays below ε', () => {
  const w = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10]; // ‖w‖² = 110; pruning j ones leaves error √(j/110)
  for (const [eps, k] of [[0.3, 9], [0.2, 4], [0.05, 0]] as const) {
    const r = pruneMagnitude(w, { eps });
    assert.equal(r.k, k, `ε = ${eps}`);
    assert.ok(r.relErr < eps && Math.abs(r.relErr - Math.sqrt(k / 110)) < 1e-15, `ε = ${eps}: ${r.relErr}`);
  }
});

test('global magnitude pruning: one threshold over all tensors, ⌊ratio·total⌋ entries, ties in tensor-then-index order, per-tensor errors', () => {
  const a = [5, -1, 2, 0.5];
  const b = [-0.25, 3, 1, -4, 0.75, 1];
  const [ra, rb] = pruneMagnitudeGlobal([a, b], 0.5); // 5 of 10: 0.25, 0.5, 0.75, then the 1s: a's −1 first, then b's first 1
  assert.deepEqual(Array.from(ra!.values), [5, 0, 2, 0]);
  assert.deepEqual(Array.from(rb!.values), [0, 3, 0, -4, 0, 1]);
  assert.deepEqual([ra!.k, ra!.n, rb!.k, rb!.n], [2, 4, 3, 6]);
  const sq = (v: number[]) => v.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(ra!.relErr - Math.sqrt(sq([-1, 0.5]) / sq(a))) < 1e-15);
  assert.ok(Math.abs(rb!.relErr - Math.sqrt(sq([-0.25, 1, 0.75]) / sq(b))) < 1e-15);
  // With the median centre each tensor is centred by its own median, and pruned entries take it.
  const [ma, mb] = pruneMagnitudeGlobal([[1, 2, 3], [10, 20, 31]], 1 / 3, 'median'); // |w − c|: 1, 0, 1 and 10, 0, 11
  assert.deepEqual([ma!.centre, mb!.centre], [2, 20]);
  assert.deepEqual([Array.from(ma!.values), Array.from(mb!.values)], [[1, 2, 3], [10, 20, 31]]); // the two zero scores go, and change nothing
  assert.deepEqual([ma!.k, mb!.k, ma!.relErr, mb!.relErr], [1, 1, 0, 0]);
  // A tensor of zeros has no norm: its error is 0, not NaN.
  const [z] = pruneMagnitudeGlobal([[0, 0]], 0.5);
  assert.deepEqual([z!.k, z!.relErr], [1, 0]);
});

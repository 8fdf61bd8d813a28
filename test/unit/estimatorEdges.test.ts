/**
 * Closed-form cases of the estimator building blocks that the numpy vectors do not reach (found by
 * mutation testing, issue 14): zero block sums and zero order statistics (log(0 + eps), spec §2.2
 * "exact zeros"), the candidate lists at their boundaries, the MMO refusals, the curve helpers at
 * their edges, the Gaussian reference against scipy, and the matricisation of every layer kind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curveFromAbs, gaussianPrunableAt, gaussianRelErr, normalQuantile, prunableCount, relErrCurve } from '../../src/core/analysis/curves.ts';
import { EVALS_THRESHOLD, fitEsdPowerLaw } from '../../src/core/analysis/esd.ts';
import { layerMatrices } from '../../src/core/analysis/layerMatrix.ts';
import { estimateMmo, LOG_EPS, mmoCandidates, mmoOnce, truncationCandidates } from '../../src/core/analysis/mmo.ts';
import { estimateOrder } from '../../src/core/analysis/orderStatistics.ts';
import { Mulberry32, shuffleInto } from '../../src/core/analysis/prng.ts';
import type { LayerKind } from '../../src/core/checkpoint.ts';

test('MMO: blocks that sum to exactly zero count as log(0 + eps) = −36.04, univariate and multivariate', () => {
  const n = 200;
  const x1 = Float64Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1)); // +1, −1, +1, …
  const x2 = Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 0 : (i >> 1) % 2 ? -1 : 1)); // rows (±1, 0)
  // K1 = 2: every block sums to 0, every sample has norm 1.
  const expected = Math.log(2) / (Math.log(LOG_EPS) - Math.log(1 + LOG_EPS));
  assert.ok(Math.abs(expected - Math.log(2) / Math.log(LOG_EPS)) < 1e-15 && expected < 0);
  const near = (v: number) => assert.ok(Math.abs(v - expected) < 1e-15, `${v} vs ${expected}`);
  near(mmoOnce(x1, n, 1, 2));
  near(mmoOnce(x2, n, 2, 2));
  // K1 = 5: blocks sum to ±1, so L_Y = L_X and the estimate is log 5 / 0 = ∞ (the cap makes it 2).
  assert.equal(mmoOnce(x1, n, 1, 5), Infinity);
  // Visited in reverse, each block still pairs a +1 with a −1.
  const order = Uint32Array.from({ length: n }, (_, i) => n - 1 - i);
  near(mmoOnce(x1, n, 1, 2, order));
});

test('MMO candidates at their boundaries, and the estimator\'s refusals by their words', () => {
  assert.deepEqual(truncationCandidates(3), []);
  assert.deepEqual(truncationCandidates(4), [2]);
  assert.deepEqual(truncationCandidates(10), [2, 5]);
  assert.deepEqual(truncationCandidates(2000), [2, 5, 10, 20, 50, 100, 500, 1000]);
  assert.deepEqual(mmoCandidates(10), [2, 5]);
  assert.deepEqual(mmoCandidates(12), [2, 4, 3]); // largest divisors ≤ 2 and ≤ 5, then the one ≤ ⌊√12⌋ appended
  assert.throws(() => estimateMmo(new Float64Array(3), 3, 1, { allowTruncation: true }), { name: 'RangeError', message: 'N = 3 is too small for any block size' });
  assert.throws(() => estimateMmo(new Float64Array(0), 30_000_001, 1, { allowTruncation: false }), {
    name: 'RangeError',
    message: "N = 30000001 exceeds the paper code's 3·10⁷ limit",
  });
  assert.throws(() => estimateMmo(new Float64Array(1009), 1009, 1, { allowTruncation: false }), { message: 'N = 1009 has no admissible block size (prime?)' });
  const r = estimateMmo(Float64Array.from({ length: 1009 }, (_, i) => Math.sin(i + 1)), 1009, 1, { allowTruncation: true });
  assert.deepEqual([r.truncated, r.candidates], [true, truncationCandidates(1009)]);
  const full = estimateMmo(Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i + 1)), 1000, 1, { allowTruncation: false });
  assert.deepEqual([full.truncated, full.candidates], [false, mmoCandidates(1000)]);
});

test('Hill when the (k+1)-th largest |x| is an exact zero: log-excesses from log(eps), 1 / mean in closed form', () => {
  // 190 zeros and 10 values e: for k = 20 the top 20 are 10 zeros (excess 0) and 10 e's (excess 1 − log eps).
  const x = new Float64Array(200);
  x.fill(Math.E, 190);
  const [hill] = estimateOrder('hill', x, undefined, [20]).perCandidate;
  assert.ok(Math.abs(hill! - 1 / ((10 * (1 - Math.log(LOG_EPS))) / 20)) < 1e-15);
  assert.ok(Math.abs(hill! - 2 / 37.0436533891172) < 1e-12);
});

test('relative-error curves: the offset is subtracted, all-equal scores give 0 everywhere, and k* is strict', () => {
  assert.deepEqual(Array.from(relErrCurve([1, 2, 3], 2)), [0, 0, Math.SQRT1_2, 1]);
  assert.deepEqual(Array.from(relErrCurve([4, 4, 4], 4)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(curveFromAbs(new Float64Array([9, 0, 0]))), [0, 0, 0]);
  const e = relErrCurve([3, 4]); // [0, 3/5, 1]
  assert.deepEqual(Array.from(e), [0, 0.6, 1]);
  assert.equal(prunableCount(e, 0.6), 0); // e[1] = ε exactly is not below ε
  assert.equal(prunableCount(e, 0.6000001), 1);
  assert.equal(prunableCount(e, 1.5), 2);
});

test('the Gaussian reference equals scipy: Φ⁻¹ on both sides of ½, ε(r) at the ends and inside', () => {
  // scipy.stats.norm.ppf; the CDF approximation is good to 1.2e-7, so the quantile to ~1e-6.
  const ppf: Array<[number, number]> = [
    [0.025, -1.9599639845400545],
    [0.5, 0],
    [0.975, 1.959963984540054],
    [0.999, 3.090232306167813],
  ];
  for (const [p, q] of ppf) assert.ok(Math.abs(normalQuantile(p) - q) < 2e-6, `Φ⁻¹(${p}) = ${normalQuantile(p)} vs ${q}`);
  assert.deepEqual([normalQuantile(0), normalQuantile(1), normalQuantile(-0.5), normalQuantile(1.5)], [-Infinity, Infinity, -Infinity, Infinity]);
  assert.deepEqual([gaussianRelErr(0), gaussianRelErr(1), gaussianRelErr(-1), gaussianRelErr(2)], [0, 1, 0, 1]);
  // sqrt(r − 2tφ(t)), t = Φ⁻¹((1 + r)/2), in scipy
  assert.ok(Math.abs(gaussianRelErr(0.5) - 0.267069125404378) < 1e-6);
  assert.ok(Math.abs(gaussianRelErr(0.9) - 0.7488083437844529) < 1e-6);
  assert.ok(Math.abs(gaussianRelErr(gaussianPrunableAt(0.2)) - 0.2) < 1e-9);
});

test('matricisation: conv kinds of rank > 2 give kernel rows (out·in × kh·kw), every other kind or rank the out × rest matrix', () => {
  const values = Float64Array.from({ length: 4 * 2 * 3 }, (_, i) => i);
  const kinds: LayerKind[] = ['dense', 'conv', 'depthwise-conv', 'grouped-conv', 'embedding', 'recurrent', 'other'];
  const tails = kinds.map((kind) => {
    const m = layerMatrices(values, [4, 2, 3], kind, false);
    return [kind, m.isConv, m.tail.rows, m.tail.cols, m.filters.rows, m.filters.cols];
  });
  assert.deepEqual(tails, [
    ['dense', false, 4, 6, 4, 6],
    ['conv', true, 8, 3, 4, 6],
    ['depthwise-conv', true, 8, 3, 4, 6],
    ['grouped-conv', true, 8, 3, 4, 6],
    ['embedding', false, 4, 6, 4, 6],
    ['recurrent', false, 4, 6, 4, 6],
    ['other', false, 4, 6, 4, 6],
  ]);
  // A conv kind stored as a matrix (rank 2) is not matricised as a kernel.
  const flat = layerMatrices(values, [4, 6], 'conv', false);
  assert.deepEqual([flat.isConv, flat.tail.rows, flat.tail.cols], [false, 4, 6]);
  // The transposed classifier: in × out.
  const t = layerMatrices(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3], 'dense', true);
  assert.deepEqual([t.tail.rows, t.tail.cols, Array.from(t.tail.data)], [3, 2, [1, 4, 2, 5, 3, 6]]);
});

test('shuffleInto on more than 2^16 values (the bucketed path) shuffles inside every bucket', () => {
  const n = (1 << 17) + 3;
  const src = Float64Array.from({ length: n }, (_, i) => i);
  const dst = shuffleInto(src, new Float64Array(n), new Mulberry32(5));
  assert.deepEqual(Float64Array.from(dst).sort(), src); // a permutation
  // In a uniform permutation, P(dst[i] < dst[i+1]) = ½; buckets left in input order would give ~1.
  let rises = 0;
  for (let i = 0; i + 1 < n; i++) if (dst[i]! < dst[i + 1]!) rises++;
  assert.ok(Math.abs(rises / (n - 1) - 0.5) < 0.01, `rises ${rises / (n - 1)}`);
  // …and the bucket of a value is random: the first 1% of positions hold values from all over.
  const head = Array.from(dst.subarray(0, n / 100));
  assert.ok(Math.min(...head) < n / 50 && Math.max(...head) > n - n / 50);
});

test('ESD fit: refusals by their words, the 1e-5 floor, and the over/under-trained warnings on exact Pareto quantiles', () => {
  assert.deepEqual(fitEsdPowerLaw([1, 2, NaN, ...Array.from({ length: 20 }, (_, i) => i + 3)]), { ok: false, reason: 'non-finite eigenvalue' });
  assert.deepEqual(fitEsdPowerLaw(new Array(30).fill(0.5)), { ok: false, reason: 'all eigenvalues are equal' });
  // λ ≤ 1e-5 is dropped (1e-5 itself too): 10 kept values are enough, 9 are not.
  const ten = Array.from({ length: 10 }, (_, i) => 1 + i * i);
  const ok = fitEsdPowerLaw([...ten, EVALS_THRESHOLD, 1e-9]);
  assert.equal(ok.ok && ok.fit.numEvals, 10);
  assert.equal(fitEsdPowerLaw(ten.slice(1)).ok, false);
  // Pareto quantiles x_i = (1 − i/n)^(−1/(a−1)): the fitted density exponent is about a.
  const pareto = (a: number) => Array.from({ length: 400 }, (_, i) => (1 - i / 400) ** (-1 / (a - 1)));
  const warnings = [1.6, 4, 9].map((a) => {
    const r = fitEsdPowerLaw(pareto(a));
    assert.ok(r.ok);
    assert.ok(Math.abs(r.fit.alpha - a) < 0.15 * a, `a = ${a}: α = ${r.fit.alpha}`);
    return r.fit.warning ?? null;
  });
  assert.deepEqual(warnings, ['over-trained', null, 'under-trained']);
});

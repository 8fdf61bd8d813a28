/**
 * The analysis fast paths (issue 15) against the direct computations they replace, which the numpy
 * vectors check: the running-sum MMO against block-by-block sums, LogSum against a sum of
 * logarithms, the rank-partitioned curve summary against the fully sorted curve, and the partial
 * selection behind the order-statistic estimators against a full sort.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CURVE_RATIOS, curveFromAbs, prunableCount, sampleCurve, summarizeCurve, summarizeCurveByBuckets, summarizeCurveByPartition, summarizeCurveFromAbs } from '../../src/core/analysis/curves.ts';
import { estimateMmo, LOG_EPS, LogSum, mmoCandidates, mmoOnce, sumLogNorms, truncationCandidates } from '../../src/core/analysis/mmo.ts';
import { partitionAtRanks } from '../../src/core/analysis/order.ts';
import { estimateTailIndices } from '../../src/core/analysis/tailIndex.ts';
import { estimateOrder, paulauskas, paulauskasAll } from '../../src/core/analysis/orderStatistics.ts';
import { Mulberry32, sasSamples, shuffleInto } from '../../src/core/analysis/prng.ts';

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

test('running-sum MMO equals block-by-block MMO per candidate, across the 2¹³ restarts (α = 0.8, 1.5, 2)', () => {
  // N = 3·2¹⁴·… with candidates up to ⌊√N⌋: blocks of 2 … 1000 and the √N divisor cross many restarts.
  const n = 196_608; // 2¹⁶·3: divisor candidates 2, 4, 8, 16, 48, 96, 384, 768 and 384 (√N ≈ 443 → 384)
  for (const alpha of [0.8, 1.5, 2]) {
    const x = sasSamples(alpha, n, 11);
    const total = sumLogNorms(x, n, 1);
    const direct = estimateMmo(x.slice(), n, 1, { allowTruncation: false, sumLogNorms: total });
    const consumed = x.slice();
    const fast = estimateMmo(consumed, n, 1, { allowTruncation: false, sumLogNorms: total, consume: true });
    assert.deepEqual(fast.candidates, mmoCandidates(n));
    // Rounding only (the running sums, and one product instead of a sum of logarithms): 1e-10, where the
    // estimator's own spread over permutations is 1e-2.
    fast.perCandidate.forEach((v, i) => assert.ok(relDiff(v, direct.perCandidate[i]!) < 1e-10, `α ${alpha} K1 ${fast.candidates[i]}: ${v} vs ${direct.perCandidate[i]}`));
    // Each candidate against mmoOnce, the block sums taken one by one.
    fast.candidates.forEach((k1, i) => assert.ok(relDiff(fast.perCandidate[i]!, mmoOnce(x, n, 1, k1)) < 1e-10));
    // The samples were consumed: they are now running sums restarting every 2¹³.
    assert.ok(Math.abs(consumed[8191]! - x.subarray(0, 8192).reduce((a, b) => a + b, 0)) < 1e-9 * 8192);
    assert.equal(consumed[8192], x[8192]);
  }
});

test('running-sum MMO with truncation (prime N): L_X over the samples used, as block by block', () => {
  const n = 100_003; // prime: truncation candidates, each using ⌊N/K1⌋·K1 < N samples
  const x = sasSamples(1.3, n, 5);
  const direct = estimateMmo(x.slice(), n, 1, { allowTruncation: true });
  const fast = estimateMmo(x.slice(), n, 1, { allowTruncation: true, consume: true });
  assert.equal(fast.truncated, true);
  assert.deepEqual(fast.candidates, truncationCandidates(n));
  fast.perCandidate.forEach((v, i) => assert.ok(relDiff(v, direct.perCandidate[i]!) < 1e-10, `K1 ${fast.candidates[i]}: ${v} vs ${direct.perCandidate[i]}`));
});

test('running-sum MMO: blocks summing to exactly 0 give log(eps); a power-of-two N with blocks on the restart boundaries', () => {
  const n = 20_000;
  const x = Float64Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1));
  const r = estimateMmo(x.slice(), n, 1, { allowTruncation: false, consume: true, sumLogNorms: sumLogNorms(x, n, 1) });
  const k2 = r.candidates.indexOf(2);
  assert.ok(Math.abs(r.perCandidate[k2]! - Math.log(2) / (Math.log(LOG_EPS) - Math.log(1 + LOG_EPS))) < 1e-15);
  // N = 2¹⁴: every block size divides 2¹³, so no block crosses a restart.
  const m = 1 << 14;
  const y = sasSamples(1.7, m, 2);
  const a = estimateMmo(y.slice(), m, 1, { allowTruncation: false });
  const b = estimateMmo(y.slice(), m, 1, { allowTruncation: false, consume: true });
  assert.deepEqual(b.candidates, [2, 4, 8, 16, 32, 64, 256, 512, 128]);
  a.perCandidate.forEach((v, i) => assert.ok(relDiff(b.perCandidate[i]!, v) < 1e-10));
});

test('multivariate MMO from one running sum of the rows equals block-by-block sums, with a permutation and across restarts', () => {
  // 20 000 rows of 3 (restarts at rows 8192 and 16384; candidates 2 … 1000 and 125 = the divisor ≤ √N)
  // and 600 rows of 40, visited in a permutation, at α = 0.8 (running sums dominated by outliers) and 1.6.
  for (const [rows, cols, alpha] of [[20_000, 3, 0.8], [20_000, 3, 1.6], [600, 40, 1.2]] as const) {
    const x = sasSamples(alpha, rows * cols, 6);
    const order = Uint32Array.from({ length: rows }, (_, i) => i);
    const rng = new Mulberry32(8);
    for (let i = rows - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const o of [undefined, order]) {
      const r = estimateMmo(x, rows, cols, { allowTruncation: false, ...(o ? { order: o } : {}) });
      assert.deepEqual(r.candidates, mmoCandidates(rows));
      r.candidates.forEach((k1, i) => {
        const direct = mmoOnce(x, rows, cols, k1, o);
        assert.ok(relDiff(r.perCandidate[i]!, direct) < 1e-10, `${rows}×${cols} α ${alpha} K1 ${k1}: ${r.perCandidate[i]} vs ${direct}`);
      });
    }
  }
  // Truncation (prime number of rows): every candidate uses its own ⌊N/K1⌋·K1 rows.
  const y = sasSamples(1.5, 1009 * 2, 4);
  const t = estimateMmo(y, 1009, 2, { allowTruncation: true });
  assert.equal(t.truncated, true);
  t.candidates.forEach((k1, i) => assert.ok(relDiff(t.perCandidate[i]!, mmoOnce(y, 1009, 2, k1)) < 1e-10));
});

test('LogSum equals Σ log f to 1e-13, over the 2⁵⁰⁰ rescaling and for factors beyond it', () => {
  const g = new Mulberry32(9);
  const cases: number[][] = [
    Array.from({ length: 100_000 }, () => g.uniformOpen() * 1e-3), // products underflow every ~50 factors
    Array.from({ length: 100_000 }, () => 1 / (g.uniformOpen() * 1e-3)), // …and overflow
    [1e200, 1e-200, 3, 1e-300, 1e300, 0.5, 2 ** -600, 2 ** 700], // factors outside [2⁻⁵⁰⁰, 2⁵⁰⁰]
    [LOG_EPS, LOG_EPS, 1],
  ];
  for (const f of cases) {
    const s = new LogSum();
    for (const v of f) s.add(v);
    const direct = f.reduce((a, v) => a + Math.log(v), 0);
    assert.ok(relDiff(s.value(), direct) < 1e-13, `${s.value()} vs ${direct}`);
  }
  assert.equal(new LogSum().value(), 0);
  // sumLogNorms of rows: the norms' logs, as one sum.
  const x = Float64Array.from([3, 4, 0, 0, 5, 12]);
  assert.ok(Math.abs(sumLogNorms(x, 3, 2) - (Math.log(5 + LOG_EPS) + Math.log(LOG_EPS) + Math.log(13 + LOG_EPS))) < 1e-13);
});

test('curve summary equals the fully sorted curve: grid values, k*(ε) at every ε, ties, zeros, tiny n', () => {
  const g = new Mulberry32(4);
  const inputs: Float64Array[] = [
    sasSamples(1.2, 50_000, 3),
    Float64Array.from({ length: 10_007 }, () => Math.round(g.uniformOpen() * 8) - 4), // heavy ties (int-like weights)
    new Float64Array(300), // all zero: the curve is 0 everywhere
    Float64Array.from([5, -1, 2]),
    Float64Array.from([7]),
  ];
  for (const v of inputs) {
    const full = curveFromAbs(Float64Array.from([0, ...Array.from(v, Math.abs)]));
    const ref = sampleCurve(full, CURVE_RATIOS);
    for (const eps of [-1, 0, 1e-6, 0.05, 0.1, 0.3, 0.999, 1, 1.5]) {
      const s = summarizeCurve(v, CURVE_RATIOS, eps);
      assert.equal(s.n, v.length);
      assert.equal(s.k, prunableCount(full, eps), `n ${v.length} ε ${eps}`);
      s.samples.forEach((x, i) => assert.ok(Math.abs(x - ref[i]!) < 1e-12, `ratio ${CURVE_RATIOS[i]}: ${x} vs ${ref[i]}`));
    }
  }
  // The offset is subtracted before |·|, and the caller's buffer form is reordered in place only.
  const v = Float64Array.from([1, 2, 3, 4, 10]);
  const s = summarizeCurve(v, [0, 0.4, 1], 0.2, 3);
  // |v − 3| = 2, 1, 0, 1, 7: sorted 0, 1, 1, 2, 7; Σ² = 55; two pruned: √(1/55)
  assert.deepEqual([s.samples[0], s.samples[2], s.k], [0, 1, 3]);
  assert.ok(Math.abs(s.samples[1]! - Math.sqrt(1 / 55)) < 1e-15);
  assert.deepEqual(Array.from(v), [1, 2, 3, 4, 10]);
  const e = Float64Array.from([0, 3, 1, 2]);
  summarizeCurveFromAbs(e, [0.5], 0.1);
  assert.deepEqual(Array.from(e).slice(1).sort(), [1, 2, 3]);
});

test('histogram curve summary (n ≥ 2¹⁶) equals the fully sorted curve; crowded values fall back to partitioning', () => {
  const g = new Mulberry32(12);
  const heavy = sasSamples(0.9, 300_000, 8); // ten and more binades
  const halfZero = sasSamples(1.6, 140_000, 9).map((x, i) => (i % 2 ? 0 : x)); // pruned: bucket 0 holds half the values
  const narrow = Float64Array.from({ length: 90_000 }, () => 1 + g.uniformOpen() * 1e-3); // all in a few buckets
  const quantized = Float64Array.from({ length: 80_000 }, () => Math.round(g.uniformOpen() * 20) / 64); // 21 distinct values
  for (const [name, v, bucketed] of [['heavy', heavy, true], ['half zero', halfZero, true], ['narrow', narrow, false], ['quantized', quantized, false]] as const) {
    const abs = Float64Array.from([0, ...Array.from(v, Math.abs)]);
    const full = curveFromAbs(abs.slice());
    const ref = sampleCurve(full, CURVE_RATIOS);
    for (const eps of [-1, 0, 1e-9, 0.01, 0.1, 0.5, 0.999999, 1, 2]) {
      const direct = summarizeCurveByBuckets(abs.slice(), CURVE_RATIOS, eps);
      assert.equal(direct !== undefined, bucketed, `${name}: histogram path taken`);
      for (const s of [summarizeCurveFromAbs(abs.slice(), CURVE_RATIOS, eps), ...(direct ? [direct] : [])]) {
        assert.equal(s.n, v.length);
        assert.equal(s.k, prunableCount(full, eps), `${name} ε ${eps}`);
        s.samples.forEach((x, i) => assert.ok(Math.abs(x - ref[i]!) < 1e-12, `${name} ratio ${CURVE_RATIOS[i]}: ${x} vs ${ref[i]}`));
      }
      // …and the partition form agrees with it on the same input.
      const p = summarizeCurveByPartition(abs.slice(), CURVE_RATIOS, eps);
      assert.equal(p.k, prunableCount(full, eps));
    }
  }
  // All zero: no energy anywhere, so the curve is 0 and every score is prunable for ε > 0.
  const zero = new Float64Array(70_001);
  assert.deepEqual(summarizeCurveFromAbs(zero, CURVE_RATIOS, 0.1), { samples: CURVE_RATIOS.map(() => 0), k: 70_000, n: 70_000 });
});

test('partitionAtRanks: for every rank k, the first k positions hold the k smallest values', () => {
  const g = new Mulberry32(1);
  const a = Float64Array.from({ length: 5000 }, () => Math.floor(g.uniformOpen() * 300)); // ties
  const sorted = Float64Array.from(a).sort();
  const ranks = [1, 7, 250, 251, 2500, 4998, 4999];
  partitionAtRanks(a, ranks);
  for (const k of ranks) {
    let maxLeft = -Infinity;
    let minRight = Infinity;
    for (let i = 0; i < k; i++) maxLeft = Math.max(maxLeft, a[i]!);
    for (let i = k; i < a.length; i++) minRight = Math.min(minRight, a[i]!);
    assert.equal(maxLeft, sorted[k - 1]);
    assert.equal(minRight, sorted[k]);
  }
  assert.deepEqual(Float64Array.from(a).sort(), sorted); // a permutation of the input
});

test('order-statistic estimators read only the top k_max + 1: the partial selection gives the fully sorted values', () => {
  // estimateTailIndices selects the k_max + 1 largest |entries| and sorts only those; Hill and the
  // alternatives must equal the estimators on a full sort of the same entries, for every k.
  const rows = 120;
  const cols = 50;
  for (let seed = 1; seed <= 12; seed++) {
    const x = sasSamples(1 + seed / 12, rows * cols, seed);
    const r = estimateTailIndices({ data: x.slice(), rows, cols }, { mode: 'paper', seed: 0, permutations: 1, minSamples: 100 });
    // The entries as estimateTailIndices forms them: column medians, then their median, subtracted.
    const colMed = Array.from({ length: cols }, (_, j) => {
      const c = Array.from({ length: rows }, (_, i) => x[i * cols + j]!).sort((p, q) => p - q);
      return (c[rows / 2 - 1]! + c[rows / 2]!) / 2;
    });
    const entries = Float64Array.from(x, (v, i) => v - colMed[i % cols]!);
    const s = Float64Array.from(entries).sort();
    const med = (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    const centred = entries.map((v) => v - med);
    const full = Float64Array.from(centred, Math.abs).sort();
    const cands = mmoCandidates(centred.length);
    const hill = estimateOrder('hill', centred, full, cands);
    assert.equal(r.hill.value, hill.alpha);
    assert.deepEqual(r.hill.value !== null && r.hill.diagnostics.perCandidate, hill.perCandidate); // every k, k_max too
    assert.equal(r.alternatives.moment, estimateOrder('moment', centred, full, cands).alpha);
    assert.equal(r.alternatives.momentRatio, estimateOrder('momentRatio', centred, full, cands).alpha);
    assert.equal(r.alternatives.pickands, estimateOrder('pickands', centred, full, cands).alpha);
  }
});

test('Paulauskas from nested blocks equals the block-by-block estimator for every size, bit for bit', () => {
  // Divisor candidates (nested chains and a √N divisor), truncation sizes over a partial last chunk,
  // a size no other divides, ties, and sizes whose common multiple is too large (one by one).
  const cases: Array<[number, number[]]> = [
    [196_608, mmoCandidates(196_608)],
    [100_003, truncationCandidates(100_003)],
    [10_000_000 / 40, [2, 5, 10, 20, 50, 100, 500, 1000, 125]],
    [70_001, [3, 7, 21, 6, 2]],
    [50_000, [999, 1000, 2]],
    [1000, [2, 5, 10, 20, 50, 100, 500]],
  ];
  for (const [n, sizes] of cases) {
    const x = sasSamples(1.3, n, n % 97);
    for (let i = 0; i < n; i += 7) x[i] = x[i + 1] ?? 0; // ties inside blocks
    assert.deepEqual(paulauskasAll(x, sizes), sizes.map((m) => paulauskas(x, m)), `n ${n} sizes ${sizes}`);
  }
});

test('shuffled entries consumed by the running-sum MMO leave the estimate equal to the block-by-block one', () => {
  // The scratch path of estimateTailIndices: shuffleInto, then MMO on the shuffled copy.
  const n = 70_000;
  const x = sasSamples(1.6, n, 3);
  const a = shuffleInto(x, new Float64Array(n), new Mulberry32(2));
  const direct = estimateMmo(a.slice(), n, 1, { allowTruncation: true });
  const fast = estimateMmo(a, n, 1, { allowTruncation: true, consume: true });
  assert.ok(relDiff(fast.alpha, direct.alpha) < 1e-10, `${fast.alpha} vs ${direct.alpha}`);
});

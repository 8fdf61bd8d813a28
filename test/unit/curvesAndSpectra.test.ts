import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { WeightTensor } from '../../src/core/checkpoint.ts';
import { analyzeLayer, DEFAULT_SETTINGS } from '../../src/core/analysis/analyzeLayer.ts';
import { gaussianPrunableAt, gaussianRelErr, prunableCount, relErrCurve } from '../../src/core/analysis/curves.ts';
import { fitEsdPowerLaw } from '../../src/core/analysis/esd.ts';
import { median } from '../../src/core/analysis/order.ts';
import { Mulberry32, sasSamples } from '../../src/core/analysis/prng.ts';
import { gramEigenvalues, singularFromSquared } from '../../src/core/linalg/spectrum.ts';
import { fixture } from '../helpers.ts';
import { medianOf } from '../writtenWeights.ts';

const VECTORS_DIR = fixture('spec-vectors');
const VECTORS = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, 'test_vectors.json'), 'utf8'));

function close(actual: number, expected: number, what: string, rel = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** An in-memory dense layer (canonical out × in) for analyzeLayer. */
function denseTensor(name: string, values: Float64Array, rows: number, cols: number): WeightTensor {
  return {
    name,
    dtype: 'float64',
    shape: [rows, cols],
    size: rows * cols,
    byteLength: rows * cols * 8,
    layer: { kind: 'dense', op: name, opType: 'Gemm', inputIndex: 1, layout: { kind: 'identity' }, inferred: false },
    readBytes: () => new Uint8Array(values.buffer.slice(0)),
    read: () => values.slice(),
  };
}

test('Gaussian reference curve: ε(0.9) = 0.749 and the prunable fractions of the spec', () => {
  assert.equal(gaussianRelErr(0.9).toFixed(3), '0.749');
  assert.deepEqual([0.05, 0.1, 0.2, 0.3].map((e) => gaussianPrunableAt(e).toFixed(3)), ['0.168', '0.265', '0.416', '0.538']);
});

for (const v of VECTORS.pruning['kmax_at_eps0.1_median_centered']) {
  test(`k*(0.1) exact count for α=${v.alpha_true} N=${v.N}: ${v.kmax_exact} (reference code: ${v.kmax_reference_code})`, () => {
    const x = sasSamples(v.alpha_true, v.N, v.seed);
    const m = median(x);
    close(m, v.median, 'median');
    assert.equal(prunableCount(relErrCurve(x.map((t) => t - m)), 0.1), v.kmax_exact);
  });
}

test('64×48 SαS(1.5) matrix: magnitude, node (FCN columns) and singular-value errors of the spec', async () => {
  const v = VECTORS.pruning['matrix_64x48_alpha1.5_seed41'];
  const w = sasSamples(1.5, 64 * 48, 41);
  close(w[0]!, v.W00, 'W00');
  close(w[w.length - 1]!, v.W_last, 'W_last');
  const r = await analyzeLayer(denseTensor('m', w, 64, 48), { ...DEFAULT_SETTINGS });
  const at = (ratio: number) => r.curves.ratios.findIndex((x) => Math.abs(x - ratio) < 1e-12);
  for (const p of v.magnitude_median_centered.filter((p: { ratio: number }) => at(p.ratio) >= 0)) close(r.curves.magnitude![at(p.ratio)]!, p.rel_err, `magnitude r=${p.ratio}`);
  for (const p of v.node_fcn_columns) close(r.curves.node![at(p.ratio)]!, p.rel_err, `node r=${p.ratio}`);
  for (const p of v.singular_value) close(r.curves.singular![at(p.ratio)]!, p.rel_err, `singular r=${p.ratio}`, 1e-8);
  // r = 0.9 is off the 0.025 grid; check it through the exact curve.
  const centred = w.map((t) => t - median(w));
  close(relErrCurve(centred)[Math.floor(0.9 * w.length)]!, v.magnitude_median_centered.at(-1).rel_err, 'magnitude r=0.9');
});

test('the spectral vector: eigenvalues of Σ̂ from the regenerated activations', () => {
  const ref = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, 'spectral_test_vector.json'), 'utf8'));
  const g = new Mulberry32(7);
  const [n, m, r] = [400, 12, 3];
  const U = Array.from({ length: n }, () => Array.from({ length: r }, () => g.uniformOpen() - 0.5));
  const V = Array.from({ length: r }, () => Array.from({ length: m }, () => g.uniformOpen() - 0.5));
  const E = Array.from({ length: n }, () => Array.from({ length: m }, () => 0.05 * (g.uniformOpen() - 0.5)));
  const phi = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += U[i]![k]! * V[k]![j]!;
      phi[i * m + j] = Math.max(0, s * 4 + E[i]![j]!);
    }
  // Σ̂ = ΦᵀΦ/n: its eigenvalues are the Gram's eigenvalues divided by n.
  const eig = Array.from(gramEigenvalues(phi, n, m)).map((x) => x / n).reverse();
  ref.eigs_desc.forEach((e: number, i: number) => assert.ok(Math.abs(eig[i]! - e) <= 1e-12 + 1e-9 * e, `μ${i}: ${eig[i]} vs ${e}`));
});

const ESD = JSON.parse(fs.readFileSync(fixture('expected', 'esd_reference.json'), 'utf8'));

for (const c of ESD) {
  test(`ESD fit ${c.name}: α, xmin, D and the derived metrics equal numpy's`, async () => {
    const w = sasSamples(c.alpha_true, c.shape.reduce((a: number, b: number) => a * b, 1), c.seed);
    let evals: Float64Array;
    if (c.shape.length === 2) {
      evals = gramEigenvalues(w, c.shape[0], c.shape[1]);
      const s = singularFromSquared(evals);
      c.singular_values.forEach((e: number, i: number) => close(s[i]!, e, `σ${i}`, 1e-9));
    } else {
      const r = await analyzeLayer(
        { ...denseTensor(c.name, w, c.shape[0], c.shape.slice(1).reduce((a: number, b: number) => a * b, 1)), shape: c.shape, layer: { kind: 'conv', op: 'c', opType: 'Conv', inputIndex: 1, layout: { kind: 'identity' }, inferred: false } },
        { ...DEFAULT_SETTINGS },
      );
      evals = Float64Array.from(r.esd!.eigenvalues);
    }
    const fit = fitEsdPowerLaw(evals);
    assert.ok(fit.ok);
    for (const key of ['alpha', 'xmin', 'D', 'sigma', 'numTail', 'numEvals', 'lambdaMax', 'alphaWeighted', 'logAlphaNorm', 'logNorm', 'logSpectralNorm', 'stableRank']) {
      close((fit.fit as unknown as Record<string, number>)[key]!, c.fit[key], key, 1e-8);
    }
  });
}

test('ESD fit refuses too few eigenvalues instead of returning a number', () => {
  const r = fitEsdPowerLaw([1, 2, 3, 1e-7]);
  assert.deepEqual(r, { ok: false, reason: 'only 3 eigenvalues above 0.00001 (need 10)' });
});

test('bad layers: NaN is invalid, all-zero and constant layers say why, tiny layers get null tail indices', async () => {
  const nan = new Float64Array(200).fill(0.5);
  nan[7] = NaN;
  const a = await analyzeLayer(denseTensor('nan', nan, 20, 10), DEFAULT_SETTINGS);
  assert.equal(a.status, 'invalid');
  assert.deepEqual(a.reasons, ['1 NaN/Inf values: nothing can be estimated']);
  assert.equal(a.alphaStable.entries, null);
  const z = await analyzeLayer(denseTensor('zero', new Float64Array(200), 20, 10), DEFAULT_SETTINGS);
  assert.equal(z.status, 'invalid');
  assert.match(z.reasons[0]!, /all weights are zero/);
  assert.equal(z.prunableAtEps.magnitude, null);
  const c = await analyzeLayer(denseTensor('const', new Float64Array(200).fill(3), 20, 10), DEFAULT_SETTINGS);
  assert.match(c.reasons[0]!, /all weights are equal/);
  const small = await analyzeLayer(denseTensor('small', sasSamples(1.5, 60, 3), 6, 10), DEFAULT_SETTINGS);
  assert.equal(small.status, 'partial');
  assert.equal(small.alphaStable.multivariate, null);
  assert.ok(small.reasons.includes('alphaStable.multivariate: too few samples (N = 6 < 100)'), small.reasons.join('; '));
  const v = sasSamples(1.5, 60, 3);
  const med = medianOf(v);
  const s = v.map((x) => Math.abs(x - med)).sort();
  const total = s.reduce((a, x) => a + x * x, 0);
  const expectedCurve = small.curves.ratios.map((r) => Math.sqrt(s.subarray(0, Math.floor(r * 60 + 1e-9)).reduce((a, x) => a + x * x, 0) / total));
  small.curves.magnitude!.forEach((e, i) => assert.ok(Math.abs(e - expectedCurve[i]!) < 1e-12, `ratio ${small.curves.ratios[i]}: ${e} vs ${expectedCurve[i]}`));
  assert.equal(JSON.stringify([a, z, c, small]).includes('Infinity'), false);
});

test('robust mode drops exact zeros; paper mode keeps them and is biased low', async () => {
  const w = sasSamples(1.8, 200 * 50, 21);
  for (let i = 0; i < w.length; i += 3) w[i] = 0; // a third of the weights pruned to exactly 0
  const robust = await analyzeLayer(denseTensor('z', w, 200, 50), DEFAULT_SETTINGS);
  const paper = await analyzeLayer(denseTensor('z', w, 200, 50), { ...DEFAULT_SETTINGS, mode: 'paper' });
  const d = robust.diagnostics.stable!.entries as { N: number; zeroFraction: number };
  assert.equal(d.N, 200 * 50 - Math.ceil((200 * 50) / 3));
  close(d.zeroFraction, Math.ceil((200 * 50) / 3) / (200 * 50), 'zero fraction');
  assert.ok(paper.alphaStable.entries! < robust.alphaStable.entries! - 0.2, `${paper.alphaStable.entries} vs ${robust.alphaStable.entries}`);
});

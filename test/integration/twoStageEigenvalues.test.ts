/**
 * The two-stage eigensolver (linalg/bandReduction.ts) on onnxruntime's float64 products
 * (runtime/ortLinalg.ts), against numpy's eigvalsh (make_gram_reference.py): every eigenvalue
 * within 1e-10·λ_max on random, rank-5 and ill-conditioned matrices, through every stage (the
 * panel QR, the trailing update, the band-to-tridiagonal chase), with panel widths that leave
 * remainders; the update graph equals its TypeScript statement; the panel QR is a QR. The shapes
 * past TWO_STAGE_MIN, as the analysis runs them, are in spectrumOnnxruntime.test.ts (slower).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnMedians } from '../../src/core/analysis/order.ts';
import { bandToTridiagonal, panelQr, reduceToBand, twoStageEigenvalues } from '../../src/core/linalg/bandReduction.ts';
import { trailingUpdateReference } from '../trailingUpdateReference.ts';
import { smallerGram } from '../../src/core/linalg/gram.ts';
import { gramEigenvaluesOn, gramEigenvaluesRawAndCentred, gramEigenvaluesRawAndCentredOn, TWO_STAGE_MIN } from '../../src/core/linalg/spectrum.ts';
import { tridiagonalEigenvalues } from '../../src/core/linalg/symmetricEigenvalues.ts';
import { ortLinalg } from '../../src/core/runtime/ortLinalg.ts';
import { GRAM_REFERENCE, referenceMatrix, withinOfMax } from '../gramReference.ts';

const kernels = async () => {
  const k = await ortLinalg();
  assert.ok(k, 'onnxruntime-node loads its float64 kernels');
  return k;
};

/** Both triangles of smallerGram's lower one. */
function fullGram(a: Float64Array, m: number, n: number): { g: Float64Array; size: number } {
  const { g, size } = smallerGram(a, m, n);
  for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) g[j * size + i] = g[i * size + j]!;
  return { g, size };
}

test('the panel QR: Q = I − V T Vᵀ is orthogonal and Qᵀ P is the R left in the panel, for tall, square and wide panels', () => {
  for (const [h, k] of [[9, 4], [5, 5], [3, 6], [1, 3]] as const) {
    const p0 = Float64Array.from({ length: h * k }, (_, i) => Math.sin(1.7 * i + 0.3) + (i % 3) * 0.1);
    const p = p0.slice();
    const { v, t, r } = panelQr(p, h, k);
    assert.equal(r, Math.min(h, k));
    const q = (i: number, j: number) => {
      let s = i === j ? 1 : 0;
      for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) s -= v[i * r + a]! * t[a * r + b]! * v[j * r + b]!;
      return s;
    };
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < h; j++) {
        let s = 0;
        for (let x = 0; x < h; x++) s += q(x, i) * q(x, j);
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-14, `${h}×${k}: QᵀQ (${i}, ${j}) = ${s}`);
      }
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let x = 0; x < h; x++) s += q(x, i) * p0[j * h + x]!;
        assert.ok(Math.abs(s - (i <= j ? p[j * h + i]! : 0)) < 1e-14, `${h}×${k}: (QᵀP)(${i}, ${j}) = ${s}`);
        if (i > j) assert.equal(p[j * h + i], 0, 'below R: zero');
      }
      for (let j = i + 1; j < r; j++) assert.equal(v[i * r + j], 0, 'V is unit lower trapezoidal');
      if (i < r) assert.equal(v[i * r + i], 1);
    }
  }
});

test('the onnxruntime trailing update and its TypeScript statement both equal QᵀAQ formed from Q = I − V T Vᵀ', async () => {
  const k = await kernels();
  for (const [size, b] of [[13, 4], [40, 16], [20, 19]] as const) {
    const s = new Float64Array(size * size);
    for (let i = 0; i < size; i++) for (let j = 0; j <= i; j++) s[i * size + j] = s[j * size + i] = Math.cos(2.1 * i + j + 0.01 * i * j);
    const h = size - b;
    const p = new Float64Array(h * b);
    for (let i = 0; i < h; i++) for (let j = 0; j < b; j++) p[j * h + i] = s[(b + i) * size + j]!;
    const { v, t, r } = panelQr(p, h, b);
    const a = Float64Array.from({ length: h * h }, (_, x) => s[(b + Math.floor(x / h)) * size + b + (x % h)]!);
    // QᵀAQ the long way
    const q = new Float64Array(h * h);
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) {
      let x = i === j ? 1 : 0;
      for (let c = 0; c < r; c++) for (let d = 0; d < r; d++) x -= v[i * r + c]! * t[c * r + d]! * v[j * r + d]!;
      q[i * h + j] = x;
    }
    const expected = new Float64Array(h * h);
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) {
      let x = 0;
      for (let c = 0; c < h; c++) for (let d = 0; d < h; d++) x += q[c * h + i]! * a[c * h + d]! * q[d * h + j]!;
      expected[i * h + j] = x;
    }
    const ours = new Float64Array(h * h);
    await trailingUpdateReference(a, h, v, t, r, ours);
    // onnxruntime writes into a view of a larger buffer, as stage 1 hands it one
    const buffer = new Float64Array(h * h + 5).fill(7);
    await k.trailingUpdate(a, h, v, t, r, buffer.subarray(0, h * h));
    assert.deepEqual(Array.from(buffer.subarray(h * h)), [7, 7, 7, 7, 7], 'nothing written past the view');
    for (let i = 0; i < h * h; i++) {
      assert.ok(Math.abs(ours[i]! - expected[i]!) < 1e-12, `${size}/${b} TypeScript entry ${i}: ${ours[i]} vs ${expected[i]}`);
      assert.ok(Math.abs(buffer[i]! - expected[i]!) < 1e-12, `${size}/${b} onnxruntime entry ${i}: ${buffer[i]} vs ${expected[i]}`);
    }
  }
});

test("stage 1 leaves a band: nothing past half-width b, and the band's eigenvalues are the matrix's", async () => {
  const k = await kernels();
  const c = GRAM_REFERENCE.cases.find((x) => x.kind === 'random' && x.m === 133)!;
  const { g, size } = fullGram(referenceMatrix(c.kind, c.m, c.n, c.seed), c.m, c.n);
  const band = await reduceToBand(g, size, 8, k.trailingUpdate);
  assert.equal(band.width, 10);
  for (let col = 0; col < size; col++) assert.equal(band.band[col * band.width + 9], 0, `column ${col}: the bulge slot is empty after stage 1`);
  const { d, e } = bandToTridiagonal(band);
  withinOfMax(tridiagonalEigenvalues(d, e), c.eigenvalues, 'band → tridiagonal');
});

for (const c of GRAM_REFERENCE.cases.filter((x) => Math.min(x.m, x.n) < TWO_STAGE_MIN)) {
  test(`${c.kind} ${c.m}×${c.n}: two-stage eigenvalues on onnxruntime within 1e-10·λ_max of numpy (panel widths 4, 16, 31)`, async () => {
    const k = await kernels();
    const a = referenceMatrix(c.kind, c.m, c.n, c.seed);
    assert.ok(Math.abs(a[0]! - c.first) <= 1e-15 * Math.max(1, Math.abs(c.first)), 'same matrix as numpy');
    for (const b of [4, 16, 31]) withinOfMax(await twoStageEigenvalues(fullGram(a, c.m, c.n).g, Math.min(c.m, c.n), b, k.trailingUpdate), c.eigenvalues, `b = ${b}`);
    // Below TWO_STAGE_MIN: onnxruntime's Gram (both triangles), the one-stage solver.
    withinOfMax(await gramEigenvaluesOn(k, a, c.m, c.n), c.eigenvalues, 'gramEigenvaluesOn');
  });
}

test('the kernels are optional: without them the spectrum is the TypeScript one, bit for bit', async () => {
  const c = GRAM_REFERENCE.cases[0]!;
  const a = referenceMatrix(c.kind, c.m, c.n, c.seed);
  const med = columnMedians(a, c.m, c.n);
  assert.deepEqual(await gramEigenvaluesRawAndCentredOn(undefined, a, c.m, c.n, med), gramEigenvaluesRawAndCentred(a, c.m, c.n, med));
});

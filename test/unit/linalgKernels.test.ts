/**
 * The linear-algebra kernels one by one against numpy (test/fixtures/scripts/make_linalg_reference.py):
 * implicit QL and Sturm bisection each on their own (either alone must be right, since one falls
 * back on the other), the Householder reduction, the smaller Gram and its median-centred update in
 * both orientations, the power-of-two scaling of extreme Grams, and Σ̂ of conv activations.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { smallerGram } from '../../src/core/linalg/gram.ts';
import { cholesky, choleskySolve, SecondMoment } from '../../src/core/linalg/secondMoment.ts';
import { gramEigenvalues, gramEigenvaluesRawAndCentred, singularFromSquared } from '../../src/core/linalg/spectrum.ts';
import { bisectionEigenvalues, qlImplicit, symmetricEigenvalues, tridiagonalEigenvalues, tridiagonalize } from '../../src/core/linalg/symmetricEigenvalues.ts';
import { fixture } from '../helpers.ts';

const REF = JSON.parse(fs.readFileSync(fixture('expected', 'linalg_reference.json'), 'utf8'));
const f64 = (v: number[]) => Float64Array.from(v);

function closeAll(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * scale, `${what}[${i}]: ${got[i]} vs numpy ${want[i]}`);
}

for (const c of REF.tridiagonal as Array<{ name: string; d: number[]; e: number[]; eig: number[] }>) {
  test(`tridiagonal ${c.name}: QL alone, bisection alone and the combination equal numpy's eigvalsh`, () => {
    const ql = qlImplicit(f64(c.d), f64(c.e));
    assert.ok(ql !== undefined, 'QL converges on this matrix');
    closeAll(ql, c.eig, 1e-13, 'QL');
    closeAll(bisectionEigenvalues(f64(c.d), f64(c.e)), c.eig, 1e-13, 'bisection');
    closeAll(tridiagonalEigenvalues(f64(c.d), f64(c.e)), c.eig, 1e-13, 'tridiagonalEigenvalues');
    // The same matrix written out in full: Householder finds nothing to reflect (σ = 0) and passes it through.
    const n = c.d.length;
    const full = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      full[i * n + i] = c.d[i]!;
      if (i > 0) full[i * n + i - 1] = full[(i - 1) * n + i] = c.e[i]!;
    }
    closeAll(symmetricEigenvalues(full, n), c.eig, 1e-13, 'full tridiagonal');
  });
}

test('tridiagonal: NaN or Inf entries are refused by name', () => {
  assert.throws(() => tridiagonalEigenvalues(f64([1, NaN]), f64([0, 1])), /NaN or Inf/);
  assert.throws(() => tridiagonalEigenvalues(f64([1, 2]), f64([0, Infinity])), /NaN or Inf/);
});

for (const c of REF.symmetric as Array<{ n: number; a: number[]; eig: number[] }>) {
  test(`symmetric ${c.n}×${c.n}: Householder reduction keeps the trace and the eigenvalues (numpy)`, () => {
    const { d, e } = tridiagonalize(f64(c.a), c.n);
    let trace = 0;
    for (let i = 0; i < c.n; i++) trace += c.a[i * c.n + i]!;
    assert.ok(Math.abs(d.reduce((s, x) => s + x, 0) - trace) < 1e-12 * Math.max(1, Math.abs(trace)));
    // ‖A‖_F² = Σd² + 2Σe² (orthogonal similarity)
    const fro = c.a.reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(d.reduce((s, x) => s + x * x, 0) + 2 * e.reduce((s, x) => s + x * x, 0) - fro) < 1e-12 * fro);
    closeAll(symmetricEigenvalues(f64(c.a), c.n), c.eig, 1e-13, 'eigenvalues');
  });
}

test('symmetricEigenvalues of a 0×0 matrix is empty', () => assert.deepEqual(symmetricEigenvalues(new Float64Array(0), 0), new Float64Array(0)));

for (const c of REF.gram as Array<{ m: number; n: number; a: number[]; raw: number[]; centred: number[]; med: number[] }>) {
  test(`Gram of a ${c.m}×${c.n} matrix (the smaller side) and its median-centred update equal numpy's`, () => {
    const { g, size } = smallerGram(f64(c.a), c.m, c.n);
    assert.equal(size, Math.min(c.m, c.n));
    closeAll(symmetricEigenvalues(g, size), c.raw, 1e-12, 'smallerGram');
    closeAll(gramEigenvalues(f64(c.a), c.m, c.n), c.raw, 1e-12, 'gramEigenvalues');
    const both = gramEigenvaluesRawAndCentred(f64(c.a), c.m, c.n, f64(c.med));
    closeAll(both.raw, c.raw, 1e-12, 'raw');
    closeAll(both.centred, c.centred, 1e-12, 'centred');
    closeAll(singularFromSquared(both.centred), [...c.centred].reverse().map((v) => Math.sqrt(Math.max(0, v))), 1e-12, 'σ');
    // Extreme scales: 2^±400 times the matrix gives 2^±800 times the eigenvalues, with no overflow or underflow on the way.
    for (const k of [400, -400]) {
      const s = 2 ** k;
      const scaled = gramEigenvaluesRawAndCentred(f64(c.a.map((v) => v * s)), c.m, c.n, f64(c.med.map((v) => v * s)));
      closeAll(scaled.centred.map((v) => v / s / s), c.centred, 1e-12, `centred at 2^${k}`);
      closeAll(gramEigenvalues(f64(c.a.map((v) => v * s)), c.m, c.n).map((v) => v / s / s), c.raw, 1e-12, `raw at 2^${k}`);
    }
  });
}

test('a Gram that would overflow float64 is computed at a power-of-two scale: 2^512 and 2^511 on the diagonal give eigenvalues ∞ and 2^1022', () => {
  const a = f64([2 ** 512, 0, 0, 2 ** 511]); // unscaled, (2^512)² is already ∞ and the solver would refuse the matrix
  assert.deepEqual(Array.from(gramEigenvalues(a, 2, 2)), [2 ** 1022, Infinity]);
  const both = gramEigenvaluesRawAndCentred(a, 2, 2, f64([0, 0]));
  assert.deepEqual([Array.from(both.raw), Array.from(both.centred)], [[2 ** 1022, Infinity], [2 ** 1022, Infinity]]);
  const wide = gramEigenvaluesRawAndCentred(f64([2 ** 512, 0, 0, 0, 2 ** 511, 0]), 2, 3, f64([0, 0, 0]));
  assert.deepEqual(Array.from(wide.centred), [2 ** 1022, Infinity]);
});

test('conv activations (N, m, spatial): Σ̂ averages φφᵀ over every image and position (numpy)', () => {
  const c = REF.convSecondMoment as { batch: number; m: number; spatial: number; values: number[]; sigma: number[] };
  const acc = new SecondMoment(c.m);
  const per = c.m * c.spatial;
  acc.add(c.values.slice(0, per), 1, c.spatial); // streamed: one image, then two
  acc.add(c.values.slice(per), c.batch - 1, c.spatial);
  assert.equal(acc.samples, c.batch * c.spatial);
  closeAll(acc.matrix(), c.sigma, 1e-14, 'Σ̂');
  assert.throws(() => acc.add(c.values.slice(1), 3, c.spatial), /activation batch of 71 values is not 3×4×6/);
});

test('Cholesky: L·Lᵀ = A and the solve inverts it; a matrix that is not positive definite is refused', () => {
  const a = f64([4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]);
  const l = cholesky(Float64Array.from(a), 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let p = 0; p < 3; p++) s += l[i * 3 + p]! * l[j * 3 + p]!;
      assert.ok(Math.abs(s - a[i * 3 + j]!) < 1e-14, `(LLᵀ)[${i}][${j}]`);
    }
  }
  const b = f64([1, -2, 0.5]);
  choleskySolve(l, 3, b);
  const back = [0, 1, 2].map((i) => a[i * 3]! * b[0]! + a[i * 3 + 1]! * b[1]! + a[i * 3 + 2]! * b[2]!);
  closeAll(back, [1, -2, 0.5], 1e-14, 'A·x');
  assert.throws(() => cholesky(f64([1, 2, 2, 1]), 2), /not positive definite/);
  assert.throws(() => cholesky(f64([0, 0, 0, 1]), 2), /not positive definite/);
});

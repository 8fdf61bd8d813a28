/**
 * The two-stage eigensolver's stages in TypeScript only (linalg/bandReduction.ts with its
 * TypeScript trailing update), on small matrices with known eigenvalues: A = H diag(λ) H for a
 * Householder reflection H, so the spectrum is λ exactly and every stage can be checked in a few
 * milliseconds (the onnxruntime path against numpy is test/integration/twoStageEigenvalues.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandToTridiagonal, panelQr, reduceToBand, twoStageEigenvalues } from '../../src/core/linalg/bandReduction.ts';
import { trailingUpdateReference } from '../trailingUpdateReference.ts';
import { tridiagonalEigenvalues } from '../../src/core/linalg/symmetricEigenvalues.ts';

/** H diag(λ) H with H = I − 2uuᵀ/uᵀu, u_i = 1 + sin(3i): both triangles. */
function withSpectrum(lambda: number[]): Float64Array {
  const n = lambda.length;
  const u = Array.from({ length: n }, (_, i) => 1 + Math.sin(3 * i));
  const uu = u.reduce((s, x) => s + x * x, 0);
  const h = (i: number, j: number) => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += h(i, k) * lambda[k]! * h(k, j);
  return a;
}

const spectrum = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -1 : 1) * (1 + i * 0.37));
const sorted = (x: number[]) => [...x].sort((p, q) => p - q);

function close(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what} [${i}]: ${actual[i]} vs ${expected[i]}`);
}

test('eigenvalues of H diag(λ) H by the two stages, for bands of 1 to n − 1 and sizes with remainders', async () => {
  for (const [n, b] of [[2, 1], [3, 1], [7, 2], [8, 3], [12, 5], [17, 4], [9, 8], [6, 6], [1, 3]] as const) {
    const lambda = spectrum(n);
    const got = await twoStageEigenvalues(withSpectrum(lambda), n, b, trailingUpdateReference);
    close(got, sorted(lambda), 1e-12 * n, `n = ${n}, b = ${b}`);
  }
  assert.deepEqual(Array.from(await twoStageEigenvalues(new Float64Array(0), 0, 4, trailingUpdateReference)), []);
});

test('stage 1: the band holds the matrix to half-width b exactly, with the bulge slot empty, and keeps trace and Frobenius norm', async () => {
  const n = 11;
  const b = 3;
  const lambda = spectrum(n);
  const band = await reduceToBand(withSpectrum(lambda), n, b, trailingUpdateReference);
  assert.deepEqual([band.n, band.width, band.band.length], [n, b + 2, n * (b + 2)]);
  let trace = 0;
  let frob = 0;
  for (let c = 0; c < n; c++) {
    assert.equal(band.band[c * band.width + b + 1], 0, `column ${c}: bulge slot`);
    for (let d = 0; d <= b; d++) {
      const x = c + d < n ? band.band[c * band.width + d]! : 0;
      if (c + d >= n) assert.equal(band.band[c * band.width + d], 0, `column ${c}, offset ${d}: past the matrix`);
      if (d === 0) trace += x;
      frob += (d === 0 ? 1 : 2) * x * x;
    }
  }
  const sum = lambda.reduce((s, x) => s + x, 0);
  const squares = lambda.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(trace - sum) < 1e-12 && Math.abs(frob - squares) < 1e-11, `trace ${trace} vs ${sum}, ‖·‖² ${frob} vs ${squares}`);
  // Stage 2 alone on that band, then QL
  const { d, e } = bandToTridiagonal(band);
  assert.equal(e[0], 0);
  close(tridiagonalEigenvalues(d, e), sorted(lambda), 1e-12 * n, 'band → tridiagonal → QL');
});

test('stage 2 on a band given by hand: a pentadiagonal matrix whose eigenvalues are known in closed form', () => {
  // A = T² for T tridiagonal(1, 0, 1) of size n: T's eigenvalues are 2cos(kπ/(n+1)), so A's are their squares; A has half-width 2.
  const n = 9;
  const width = 4;
  const band = new Float64Array(n * width);
  for (let c = 0; c < n; c++) {
    band[c * width] = c === 0 || c === n - 1 ? 1 : 2; // (T²)_cc = number of neighbours
    if (c + 2 < n) band[c * width + 2] = 1; // (T²)_{c+2, c}
  }
  const { d, e } = bandToTridiagonal({ n, width, band });
  const expected = sorted(Array.from({ length: n }, (_, k) => (2 * Math.cos(((k + 1) * Math.PI) / (n + 1))) ** 2));
  close(tridiagonalEigenvalues(d, e), expected, 1e-13, 'T²');
  for (let c = 0; c < n; c++) for (let off = 2; off < width && c + off < n; off++) assert.ok(Math.abs(band[c * width + off]!) < 1e-15, `(${c + off}, ${c}) left in the band`);
});

test('the panel QR on a 4 × 2 panel by hand: R, and Q = I − V T Vᵀ with Qᵀ P = R', () => {
  // P = [[3, 1], [4, 2], [0, 5], [0, 0]]: the first reflector maps (3, 4, 0, 0) to (−5, 0, 0, 0)
  const p0 = [3, 4, 0, 0, 1, 2, 5, 0]; // column-major
  const p = Float64Array.from(p0);
  const { v, t, r } = panelQr(p, 4, 2);
  assert.equal(r, 2);
  close([p[0]!, p[1]!, p[2]!, p[3]!], [-5, 0, 0, 0], 1e-15, 'first column of R');
  assert.ok(Math.abs(p[4]! - -(3 * 1 + 4 * 2) / 5) < 1e-15, `R[0][1] = ${p[4]}`);
  // |R[1][1]| = the norm of column 2's remainder: ‖(1, 2, 5)‖² − R[0][1]² = 30 − 4.84
  assert.ok(Math.abs(Math.abs(p[5]!) - Math.sqrt(30 - (11 / 5) ** 2)) < 1e-14, `R[1][1] = ${p[5]}`);
  close([p[6]!, p[7]!], [0, 0], 0, 'below R');
  close([v[0]!, v[1]!, v[3]!], [1, 0, 1], 0, 'unit diagonal, zero above it');
  assert.ok(Math.abs(t[0]! - 1.6) < 1e-15, `τ₀ = (β − α)/β = 1.6: ${t[0]}`);
  assert.equal(t[2], 0, 'T is upper triangular');
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let x = 0; x < 4; x++) {
        let q = x === i ? 1 : 0;
        for (let a = 0; a < 2; a++) for (let c = 0; c < 2; c++) q -= v[x * 2 + a]! * t[a * 2 + c]! * v[i * 2 + c]!;
        s += q * p0[j * 4 + x]!;
      }
      assert.ok(Math.abs(s - (i <= j ? p[j * 4 + i]! : 0)) < 1e-14, `(QᵀP)(${i}, ${j}) = ${s}`);
    }
  }
  // A zero column below the diagonal: no reflector (τ = 0), and nothing changes.
  const z = Float64Array.from([2, 0, 0, 1, 1, 1]);
  const zr = panelQr(z, 3, 2);
  assert.deepEqual([zr.t[0], z[0], z[1], z[2]], [0, 2, 0, 0]);
});

test('the TypeScript trailing update: Q = I − V T Vᵀ with one reflector, QᵀAQ by hand', async () => {
  // v = (1, 1), τ = 1: Q = I − vvᵀ = [[0, −1], [−1, 0]], so QᵀAQ swaps the diagonal of A.
  const a = Float64Array.from([2, 3, 3, 7]);
  const out = new Float64Array(4);
  await trailingUpdateReference(a, 2, Float64Array.from([1, 1]), Float64Array.from([1]), 1, out);
  close(out, [7, 3, 3, 2], 1e-15, 'QᵀAQ');
});

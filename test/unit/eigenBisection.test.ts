/**
 * The eigenvalue fallback (Sturm bisection), which takes over when implicit QL stalls, against
 * closed forms: the tridiagonal Toeplitz matrix (eigenvalues a + 2b·cos(kπ/(n+1))) and a
 * strongly graded diagonal matrix with negligible coupling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bisectionEigenvalues, tridiagonalEigenvalues } from '../../src/core/linalg/symmetricEigenvalues.ts';

test('bisection: tridiagonal Toeplitz matrices, to 4·eps·‖T‖', () => {
  for (const [n, a, b] of [
    [1, 3, 0],
    [2, -1, 0.5],
    [7, 2, -1],
    [64, 0.3, 1e-3],
    [300, -5, 2],
  ] as const) {
    const d = new Float64Array(n).fill(a);
    const e = new Float64Array(n).fill(b);
    e[0] = 0;
    const exact = Array.from({ length: n }, (_, k) => a + 2 * b * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => x - y);
    const got = bisectionEigenvalues(d, e);
    const norm = Math.abs(a) + 2 * Math.abs(b);
    for (let k = 0; k < n; k++) assert.ok(Math.abs(got[k]! - exact[k]!) <= 4 * Number.EPSILON * norm * 2, `n=${n} k=${k}: ${got[k]} vs ${exact[k]}`);
  }
});

test('bisection: a graded matrix (1e74 … 1e-3 on the diagonal): every eigenvalue to the absolute accuracy 4·eps·‖T‖ (as QL)', () => {
  const d = Float64Array.of(1e74, 3e61, 1, 1e-3);
  const e = Float64Array.of(0, 1e-20, 1e-20, 1e-20); // coupling far below eps·‖T‖: the diagonal is exact
  const got = bisectionEigenvalues(d, e);
  const exact = [1e-3, 1, 3e61, 1e74];
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(got[k]! - exact[k]!) <= 4 * Number.EPSILON * 1e74, `k=${k}: ${got[k]}`);
  assert.ok(Math.abs(got[2]! - 3e61) / 3e61 < 1e-2, 'an eigenvalue above the floor keeps its leading digits');
});

test('non-finite input is refused (callers check weights and activations first)', () => {
  assert.throws(() => tridiagonalEigenvalues(Float64Array.of(1, Number.NaN), Float64Array.of(0, 1)), RangeError);
  assert.throws(() => tridiagonalEigenvalues(Float64Array.of(1, 2), Float64Array.of(0, Number.POSITIVE_INFINITY)), RangeError);
});

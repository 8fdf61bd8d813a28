import { smallerGram } from './gram.ts';
import { symmetricEigenvalues } from './symmetricEigenvalues.ts';

/**
 * A power of two that brings |a|'s largest entry near 1 when its Gram would overflow or underflow
 * float64 (finite weights of 1e160 have an infinite Gram); 1 otherwise (the usual case).
 */
function gramScale(a: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]!));
  if (max === 0 || (max < 1e100 && max > 1e-100)) return 1;
  return 2 ** -Math.round(Math.log2(max));
}

/** Eigenvalues (ascending) of the smaller Gram matrix of a row-major m × n matrix: σ² of the matrix. */
export function gramEigenvalues(a: Float64Array, m: number, n: number): Float64Array {
  const s = gramScale(a);
  const { g, size } = smallerGram(s === 1 ? a : a.map((v) => v * s), m, n);
  const lambda = symmetricEigenvalues(g, size);
  return s === 1 ? lambda : lambda.map((v) => v / (s * s));
}

/**
 * Squared singular values of A and of A − 1·medᵀ (columns centred by `med`) from one Gram matrix:
 * the centred Gram is the raw one plus a rank-2 correction, so the O(m·n·min) product is paid once.
 */
export function gramEigenvaluesRawAndCentred(a: Float64Array, m: number, n: number, med: Float64Array): { raw: Float64Array; centred: Float64Array } {
  const s = gramScale(a);
  if (s !== 1) {
    const r = gramEigenvaluesRawAndCentred(a.map((v) => v * s), m, n, med.map((v) => v * s));
    return { raw: r.raw.map((v) => v / (s * s)), centred: r.centred.map((v) => v / (s * s)) };
  }
  const { g, size } = smallerGram(a, m, n);
  const g0 = g.slice();
  if (m >= n) {
    // (A − 1medᵀ)ᵀ(A − 1medᵀ) = AᵀA − med cᵀ − c medᵀ + m med medᵀ, c = column sums
    const c = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[j] += a[i * n + j]!;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) g0[i * n + j] += -med[i]! * c[j]! - c[i]! * med[j]! + m * med[i]! * med[j]!;
  } else {
    // (A − 1medᵀ)(A − 1medᵀ)ᵀ = AAᵀ − u1ᵀ − 1uᵀ + (medᵀmed) 11ᵀ, u = A·med
    const u = new Float64Array(m);
    let mm = 0;
    for (let j = 0; j < n; j++) mm += med[j]! * med[j]!;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * med[j]!;
      u[i] = s;
    }
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) g0[i * m + j] += -u[i]! - u[j]! + mm;
  }
  return { raw: symmetricEigenvalues(g, size), centred: symmetricEigenvalues(g0, size) };
}

/** Singular values, descending, from ascending squared singular values (negatives from rounding → 0). */
export function singularFromSquared(lambda: Float64Array): Float64Array {
  const n = lambda.length;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.sqrt(Math.max(0, lambda[n - 1 - i]!));
  return s;
}

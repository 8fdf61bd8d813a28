import { smallerGram } from './gram.ts';
import { symmetricEigenvalues } from './symmetricEigenvalues.ts';

/** Eigenvalues (ascending) of the smaller Gram matrix of a row-major m × n matrix: σ² of the matrix. */
export function gramEigenvalues(a: Float64Array, m: number, n: number): Float64Array {
  const { g, size } = smallerGram(a, m, n);
  return symmetricEigenvalues(g, size);
}

/**
 * Squared singular values of A and of A − 1·medᵀ (columns centred by `med`) from one Gram matrix:
 * the centred Gram is the raw one plus a rank-2 correction, so the O(m·n·min) product is paid once.
 */
export function gramEigenvaluesRawAndCentred(a: Float64Array, m: number, n: number, med: Float64Array): { raw: Float64Array; centred: Float64Array } {
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

import { smallerGram } from './gram.ts';
import { type TrailingUpdate, twoStageEigenvalues } from './bandReduction.ts';
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
  return unscaleValues(symmetricEigenvalues(g, size), s);
}

/**
 * Squared singular values of A and of A − 1·medᵀ (columns centred by `med`) from one Gram matrix:
 * the centred Gram is the raw one plus a rank-2 correction, so the O(m·n·min) product is paid once.
 */
export function gramEigenvaluesRawAndCentred(a: Float64Array, m: number, n: number, med: Float64Array): { raw: Float64Array; centred: Float64Array } {
  const s = gramScale(a);
  if (s !== 1) return unscale(gramEigenvaluesRawAndCentred(a.map((v) => v * s), m, n, med.map((v) => v * s)), s);
  const { g, size } = smallerGram(a, m, n);
  const g0 = g.slice();
  addCentring(g0, a, m, n, med, false);
  return { raw: symmetricEigenvalues(g, size), centred: symmetricEigenvalues(g0, size) };
}

/**
 * The products a spectrum needs, run elsewhere (onnxruntime's float64 GEMM: runtime/ortLinalg.ts).
 * `gram` returns both triangles.
 */
export interface DenseKernels {
  gram(a: Float64Array, m: number, n: number): Promise<{ g: Float64Array; size: number }>;
  trailingUpdate: TrailingUpdate;
}

/** From this size on, the two-stage eigensolver on `DenseKernels` beats the one-stage one in TypeScript (measured on 2 cores: 0.14 s each at 512, 0.28 vs 0.43 s at 768, 0.55 vs 0.88 s at 1024). */
export const TWO_STAGE_MIN = 640;
/** Stage 1's panel width: wider panels make faster products but a slower band-to-tridiagonal stage. */
export const twoStageBand = (size: number): number => (size >= 3072 ? 32 : 16);

/** gramEigenvaluesRawAndCentred on `kernels` (the same values to rounding); without kernels, the TypeScript path. */
export async function gramEigenvaluesRawAndCentredOn(kernels: DenseKernels | undefined, a: Float64Array, m: number, n: number, med: Float64Array): Promise<{ raw: Float64Array; centred: Float64Array }> {
  if (!kernels) return gramEigenvaluesRawAndCentred(a, m, n, med);
  const s = gramScale(a);
  if (s !== 1) return unscale(await gramEigenvaluesRawAndCentredOn(kernels, a.map((v) => v * s), m, n, med.map((v) => v * s)), s);
  const { g, size } = await kernels.gram(a, m, n);
  const g0 = g.slice();
  addCentring(g0, a, m, n, med, true);
  const raw = await eigenvaluesOn(kernels, g, size);
  return { raw, centred: await eigenvaluesOn(kernels, g0, size, g) }; // g is spent: the second solve's spare buffer
}

/** gramEigenvalues on `kernels`. */
export async function gramEigenvaluesOn(kernels: DenseKernels | undefined, a: Float64Array, m: number, n: number): Promise<Float64Array> {
  if (!kernels) return gramEigenvalues(a, m, n);
  const s = gramScale(a);
  const { g, size } = await kernels.gram(s === 1 ? a : a.map((v) => v * s), m, n);
  return unscaleValues(await eigenvaluesOn(kernels, g, size), s);
}

/**
 * Eigenvalues of a symmetric matrix (consumed; `spare`, size² values, too): the two-stage solver on
 * `kernels` from TWO_STAGE_MIN on (both triangles filled), the one-stage one (lower triangle) else.
 */
export function eigenvaluesOn(kernels: DenseKernels | undefined, g: Float64Array, size: number, spare?: Float64Array): Promise<Float64Array> | Float64Array {
  return kernels && size >= TWO_STAGE_MIN ? twoStageEigenvalues(g, size, twoStageBand(size), kernels.trailingUpdate, spare) : symmetricEigenvalues(g, size);
}

const unscaleValues = (v: Float64Array, s: number) => (s === 1 ? v : v.map((x) => x / (s * s)));

function unscale(r: { raw: Float64Array; centred: Float64Array }, s: number): { raw: Float64Array; centred: Float64Array } {
  return { raw: unscaleValues(r.raw, s), centred: unscaleValues(r.centred, s) };
}

/** Turns the smaller Gram of A into that of A − 1·medᵀ: the lower triangle, or `both` triangles. */
function addCentring(g: Float64Array, a: Float64Array, m: number, n: number, med: Float64Array, both: boolean): void {
  if (m >= n) {
    // (A − 1medᵀ)ᵀ(A − 1medᵀ) = AᵀA − med cᵀ − c medᵀ + m med medᵀ, c = column sums
    const c = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[j] += a[i * n + j]!;
    for (let i = 0; i < n; i++) for (let j = 0; j < (both ? n : i + 1); j++) g[i * n + j] += -med[i]! * c[j]! - c[i]! * med[j]! + m * med[i]! * med[j]!;
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
    for (let i = 0; i < m; i++) for (let j = 0; j < (both ? m : i + 1); j++) g[i * m + j] += -u[i]! - u[j]! + mm;
  }
}

/** Singular values, descending, from ascending squared singular values (negatives from rounding → 0). */
export function singularFromSquared(lambda: Float64Array): Float64Array {
  const n = lambda.length;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.sqrt(Math.max(0, lambda[n - 1 - i]!));
  return s;
}

/**
 * Second moments of activations and what analysis and spectral pruning both read from them
 * (spec spectral-pruning.md §3.1–3.2): Σ̂ = (1/n) Σ φφᵀ streamed without storing samples, its
 * eigenvalues, the degrees of freedom N̂(λ), leverage scores, and the Cholesky factor/solve they use.
 * Float64, dense row-major m×m.
 */
import { symmetricEigenvalues } from './symmetricEigenvalues.ts';

/** Streams samples into Σ̂ = (1/n) Σ φφᵀ without storing them (upper triangle, mirrored on read). */
export class SecondMoment {
  private readonly sum: Float64Array;
  private readonly row: Float64Array;
  samples = 0;

  constructor(readonly m: number) {
    this.sum = new Float64Array(m * m);
    this.row = new Float64Array(m);
  }

  /**
   * Adds a batch laid out (N, m) or, for conv activations, (N, m, spatial…): each spatial
   * position of each image is one sample of the m channels.
   */
  add(values: ArrayLike<number>, batch: number, spatial = 1): void {
    const { m, sum, row } = this;
    if (values.length !== batch * m * spatial) throw new Error(`activation batch of ${values.length} values is not ${batch}×${m}×${spatial}`);
    for (let b = 0; b < batch; b++) {
      const base = b * m * spatial;
      for (let p = 0; p < spatial; p++) {
        for (let i = 0; i < m; i++) row[i] = values[base + i * spatial + p]!;
        for (let i = 0; i < m; i++) {
          const v = row[i]!;
          if (v === 0) continue; // post-ReLU activations are mostly zeros
          const o = i * m;
          for (let j = i; j < m; j++) sum[o + j] += v * row[j]!;
        }
      }
    }
    this.samples += batch * spatial;
  }

  /** Σ̂ (full, symmetric). */
  matrix(): Float64Array {
    const { m, sum } = this;
    const s = new Float64Array(m * m);
    const n = this.samples || 1;
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const v = sum[i * m + j]! / n;
        s[i * m + j] = v;
        s[j * m + i] = v;
      }
    }
    return s;
  }
}

/** Eigenvalues of a symmetric m×m matrix, descending. */
export function eigenvaluesDescending(s: Float64Array, m: number): Float64Array {
  return symmetricEigenvalues(Float64Array.from(s), m).reverse();
}

/** N̂(λ) = Σ_j μ_j / (μ_j + λ). */
export function degreesOfFreedom(eigenvalues: ArrayLike<number>, lambda: number): number {
  let n = 0;
  for (let j = 0; j < eigenvalues.length; j++) {
    const mu = Math.max(0, eigenvalues[j]!);
    n += mu / (mu + lambda);
  }
  return n;
}

/** In-place Cholesky factor (lower, row-major) of a symmetric positive definite k×k matrix. */
export function cholesky(a: Float64Array, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= a[j * k + p]! ** 2;
    if (!(d > 0)) throw new Error('the matrix is not positive definite (add a ridge λ > 0)');
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let v = a[i * k + j]!;
      for (let p = 0; p < j; p++) v -= a[i * k + p]! * a[j * k + p]!;
      a[i * k + j] = v / l;
    }
    for (let p = j + 1; p < k; p++) a[j * k + p] = 0;
  }
  return a;
}

/** Solves L Lᵀ x = b in place (b: one right-hand side). */
export function choleskySolve(l: Float64Array, k: number, b: Float64Array): void {
  for (let i = 0; i < k; i++) {
    let v = b[i]!;
    for (let p = 0; p < i; p++) v -= l[i * k + p]! * b[p]!;
    b[i] = v / l[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let v = b[i]!;
    for (let p = i + 1; p < k; p++) v -= l[p * k + i]! * b[p]!;
    b[i] = v / l[i * k + i]!;
  }
}

/** Leverage scores q_j = [Σ̂(Σ̂ + λI)⁻¹]_jj / N̂(λ) (they sum to 1). */
export function leverageScores(s: Float64Array, m: number, lambda: number): Float64Array {
  // Σ(Σ + λI)⁻¹ = I − λ(Σ + λI)⁻¹: only the diagonal of the inverse is needed.
  const a = Float64Array.from(s);
  for (let i = 0; i < m; i++) a[i * m + i] += lambda;
  const l = cholesky(a, m);
  const q = new Float64Array(m);
  const e = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    e.fill(0);
    e[j] = 1;
    choleskySolve(l, m, e);
    q[j] = 1 - lambda * e[j]!;
  }
  const total = q.reduce((x, y) => x + y, 0);
  return total > 0 ? q.map((v) => v / total) : q;
}


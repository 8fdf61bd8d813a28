/**
 * Spectral pruning (Suzuki et al.; spec: spectral-pruning.md §3), the numerical part. This is our
 * implementation of the method from the spec's reconstruction (the paper's exact constants are not
 * captured): uncentred second moments Σ̂ of a layer's post-activation outputs, the degrees of
 * freedom N̂(λ), leverage scores, the greedy node selection with the exact rank-one update of
 * §3.3, and the compensation map Â = Σ̂_FJ (Σ̂_JJ + I_τ)⁻¹ for the next layer. All in float64;
 * matrices are dense row-major m×m.
 */
import { symmetricEigenvalues } from '../linalg/symmetricEigenvalues.ts';

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
function choleskySolve(l: Float64Array, k: number, b: Float64Array): void {
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

export interface GreedySelection {
  /** Selected nodes in the order chosen. */
  order: number[];
  /** L^θ(J) = Tr(G R_J) before the first and after each step (length k + 1). */
  objective: number[];
  /** L^A(J) = Tr(R_J), likewise: the activation reconstruction error. */
  activationError: number[];
}

/**
 * Greedy forward selection of k nodes minimising Tr(G R_J) (spec §3.3), with the exact rank-one
 * update of R = Σ̂ − Σ̂_FJ(Σ̂_JJ + I_τ)⁻¹Σ̂_JF and H = G R. Ties go to the lowest index. Stops early
 * when `stop(Tr(R_J))` says so (the ε-targeted rule).
 */
export function greedySpectralSelection(s: Float64Array, g: Float64Array, tau: ArrayLike<number>, m: number, k: number, stop?: (activationError: number) => boolean): GreedySelection {
  const r = Float64Array.from(s);
  const h = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < m; p++) {
      const gip = g[i * m + p]!;
      if (gip === 0) continue;
      for (let j = 0; j < m; j++) h[i * m + j] += gip * r[p * m + j]!;
    }
  }
  const trace = (x: Float64Array) => {
    let t = 0;
    for (let i = 0; i < m; i++) t += x[i * m + i]!;
    return t;
  };
  const chosen = new Uint8Array(m);
  const order: number[] = [];
  const objective = [trace(h)];
  const activationError = [trace(r)];
  const col = new Float64Array(m);
  const hcol = new Float64Array(m);
  for (let step = 0; step < k; step++) {
    if (stop?.(activationError[activationError.length - 1]!)) break;
    let best = -1;
    let bestScore = -Infinity;
    for (let j = 0; j < m; j++) {
      if (chosen[j]) continue;
      let num = 0;
      for (let i = 0; i < m; i++) num += r[i * m + j]! * h[i * m + j]!;
      const score = num / (r[j * m + j]! + tau[j]!);
      if (score > bestScore) {
        bestScore = score;
        best = j;
      }
    }
    chosen[best] = 1;
    order.push(best);
    const sj = r[best * m + best]! + tau[best]!;
    for (let i = 0; i < m; i++) {
      col[i] = r[i * m + best]!;
      hcol[i] = h[i * m + best]!;
    }
    for (let i = 0; i < m; i++) {
      const ri = col[i]! / sj;
      const hi = hcol[i]! / sj;
      for (let j = 0; j < m; j++) {
        r[i * m + j] -= ri * col[j]!;
        h[i * m + j] -= hi * col[j]!;
      }
    }
    objective.push(trace(h));
    activationError.push(trace(r));
  }
  return { order, objective, activationError };
}

/**
 * Â = Σ̂_FJ (Σ̂_JJ + I_τ)⁻¹ (m × |J|, row-major) by Cholesky. With every node kept the exact
 * reconstruction is the identity, which is returned as such (no ridge bias).
 */
export function compensationMatrix(s: Float64Array, m: number, kept: readonly number[], tau: ArrayLike<number>): Float64Array {
  const k = kept.length;
  const a = new Float64Array(m * k);
  if (k === m && kept.every((j, i) => j === i)) {
    for (let i = 0; i < m; i++) a[i * k + i] = 1;
    return a;
  }
  const sjj = new Float64Array(k * k);
  for (let x = 0; x < k; x++) for (let y = 0; y < k; y++) sjj[x * k + y] = s[kept[x]! * m + kept[y]!]! + (x === y ? tau[kept[x]!]! : 0);
  const l = cholesky(sjj, k);
  // Row i of Â solves (Σ_JJ + I_τ) âᵢ = Σ_J,i (the matrix is symmetric).
  const rhs = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    for (let y = 0; y < k; y++) rhs[y] = s[i * m + kept[y]!]!;
    choleskySolve(l, k, rhs);
    a.set(rhs, i * k);
  }
  return a;
}

/** G = θ I + (1 − θ) Σ_t Z_tᵀ Z_t for the next layer's weight slices Z_t (each rows × m). */
export function objectiveWeight(m: number, theta: number, slices: ReadonlyArray<{ data: ArrayLike<number>; rows: number }>): Float64Array {
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++) g[i * m + i] = theta;
  if (theta === 1) return g;
  for (const z of slices) {
    for (let r = 0; r < z.rows; r++) {
      const o = r * m;
      for (let i = 0; i < m; i++) {
        const zi = z.data[o + i]! * (1 - theta);
        if (zi === 0) continue;
        for (let j = 0; j < m; j++) g[i * m + j] += zi * z.data[o + j]!;
      }
    }
  }
  return g;
}

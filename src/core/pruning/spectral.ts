/**
 * Spectral pruning (Suzuki et al.; spec: spectral-pruning.md §3), the numerical part. This is our
 * implementation of the method from the spec's reconstruction (the paper's exact constants are not
 * captured): the greedy node selection with the exact rank-one update of §3.3 over the second
 * moments of linalg/secondMoment.ts, and the compensation map Â = Σ̂_FJ (Σ̂_JJ + I_τ)⁻¹ for the next layer. All in float64;
 * matrices are dense row-major m×m.
 */
import { cholesky, choleskySolve } from '../linalg/secondMoment.ts';


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

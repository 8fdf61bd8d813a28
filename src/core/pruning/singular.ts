/**
 * Singular-value pruning (heavy-tails.md §2.4 e): keep the top `keep` singular triplets of the
 * (optionally column-median-centred) canonical matrix W (m × n), as factors W' = L·R with
 * L: m × r and R: r × n. With median centring the median row is one extra rank (r = keep + 1), so
 * W' = U_k S_k V_kᵀ + 1·medᵀ exactly as the paper's operator. Vectors come from the eigen-
 * decomposition of the smaller Gram matrix (ml-matrix), in float64.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { columnMedians } from '../analysis/order.ts';
import type { Centre } from './magnitude.ts';

export interface LowRank {
  /** Singular triplets kept. */
  keep: number;
  /** Rank of the factors (keep, or keep + 1 with median centring). */
  rank: number;
  /** m × rank, row-major. */
  left: Float64Array;
  /** rank × n, row-major. */
  right: Float64Array;
  /** sqrt(Σ dropped σ² / Σ σ²) of the centred matrix (Eckart–Young). */
  relErr: number;
}

export function pruneSingular(w: Float64Array, m: number, n: number, ratio: number, centre: Centre = 'none'): LowRank {
  const med = centre === 'median' ? columnMedians(w, m, n) : new Float64Array(n);
  const a = new Matrix(m, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a.set(i, j, w[i * n + j]! - med[j]!);
  const tall = m >= n;
  const gram = tall ? a.transpose().mmul(a) : a.mmul(a.transpose());
  const eig = new EigenvalueDecomposition(gram, { assumeSymmetric: true });
  const lambda = eig.realEigenvalues; // ascending
  const vectors = eig.eigenvectorMatrix;
  const len = lambda.length;
  const keep = len - Math.floor(ratio * len + 1e-9);
  const total = lambda.reduce((s, x) => s + Math.max(0, x), 0);
  let dropped = 0;
  for (let i = 0; i < len - keep; i++) dropped += Math.max(0, lambda[i]!);
  const relErr = total > 0 ? Math.sqrt(dropped / total) : 0;
  const top = Array.from({ length: keep }, (_, t) => len - 1 - t); // largest first
  const rank = keep + (centre === 'median' ? 1 : 0);
  const left = new Float64Array(m * rank);
  const right = new Float64Array(rank * n);
  if (tall) {
    // W0 ≈ (W0·V_k)·V_kᵀ
    top.forEach((col, t) => {
      for (let j = 0; j < n; j++) right[t * n + j] = vectors.get(j, col);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a.get(i, j) * vectors.get(j, col);
        left[i * rank + t] = s;
      }
    });
  } else {
    // W0 ≈ U_k·(U_kᵀ·W0)
    top.forEach((col, t) => {
      for (let i = 0; i < m; i++) left[i * rank + t] = vectors.get(i, col);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += vectors.get(i, col) * a.get(i, j);
        right[t * n + j] = s;
      }
    });
  }
  if (centre === 'median') {
    for (let i = 0; i < m; i++) left[i * rank + keep] = 1;
    for (let j = 0; j < n; j++) right[keep * n + j] = med[j]!;
  }
  return { keep, rank, left, right, relErr };
}

/** L·R as a dense m × n matrix. */
export function reconstruct(f: LowRank, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let t = 0; t < f.rank; t++) {
      const l = f.left[i * f.rank + t]!;
      if (l === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += l * f.right[t * n + j]!;
    }
  return out;
}

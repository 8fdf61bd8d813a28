/**
 * Magnitude pruning (heavy-tails.md §2.4 a–c): the k entries of smallest |w − c| are set to c,
 * where c is 0 (default: real zeros, so the tensor becomes sparse) or the tensor's median (the
 * paper's option). Ties are broken by index, so the result is deterministic.
 */
import { prunableCount, relErrCurve } from '../analysis/curves.ts';
import { median, selectKth } from '../analysis/order.ts';

export type Centre = 'none' | 'median';

export interface MagnitudePruned {
  values: Float64Array;
  /** Entries pruned. */
  k: number;
  n: number;
  /** ‖W − W'‖ / ‖W − c‖: the relative ℓ2 error the analysis curve predicts. */
  relErr: number;
  centre: number;
}

/** The k-th smallest value (0-based) of `scores`. */
function kthSmallest(scores: Float64Array, k: number): number {
  return selectKth(scores.slice(), k);
}

/** Prunes exactly k entries: those with score below the k-th smallest, then ties in index order. */
export function pruneLowestScores(values: Float64Array, scores: Float64Array, k: number, fill: number): Float64Array {
  const out = values.slice();
  if (k <= 0) return out;
  const n = scores.length;
  if (k >= n) return out.fill(fill);
  const t = kthSmallest(scores, k - 1);
  let below = 0;
  for (let i = 0; i < n; i++) if (scores[i]! < t) below++;
  let ties = k - below;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (s < t) out[i] = fill;
    else if (s === t && ties > 0) {
      out[i] = fill;
      ties--;
    }
  }
  return out;
}

/** Prunes the fraction `ratio` (k = ⌊ratio·n⌋) of one tensor, or as many as keep the error below `eps`. */
export function pruneMagnitude(values: ArrayLike<number>, target: { ratio: number } | { eps: number }, centre: Centre = 'none'): MagnitudePruned {
  const v = Float64Array.from(values);
  const n = v.length;
  const c = centre === 'median' ? median(v) : 0;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) scores[i] = Math.abs(v[i]! - c);
  const curve = relErrCurve(scores);
  const k = 'ratio' in target ? Math.floor(target.ratio * n + 1e-9) : prunableCount(curve, target.eps);
  return { values: pruneLowestScores(v, scores, k, c), k, n, relErr: curve[k]!, centre: c };
}

/**
 * Global magnitude pruning: one threshold across all tensors (each centred by its own median when
 * centre = 'median'), pruning ⌊ratio · total⌋ entries jointly.
 */
export function pruneMagnitudeGlobal(tensors: ArrayLike<number>[], ratio: number, centre: Centre = 'none'): MagnitudePruned[] {
  const total = tensors.reduce((a, t) => a + t.length, 0);
  const centres = tensors.map((t) => (centre === 'median' ? median(t) : 0));
  const all = new Float64Array(total);
  let o = 0;
  tensors.forEach((t, j) => {
    for (let i = 0; i < t.length; i++) all[o++] = Math.abs(t[i]! - centres[j]!);
  });
  const k = Math.floor(ratio * total + 1e-9);
  // Mark which global positions are pruned (ties in layer-then-index order), then split per tensor.
  const pruneAll = pruneLowestScores(new Float64Array(total).fill(1), all, k, 0);
  o = 0;
  return tensors.map((t, j) => {
    const v = Float64Array.from(t);
    const scores = all.subarray(o, o + v.length);
    let kj = 0;
    let err = 0;
    let norm = 0;
    for (let i = 0; i < v.length; i++) {
      norm += scores[i]! ** 2;
      if (pruneAll[o + i] === 0) {
        err += scores[i]! ** 2;
        v[i] = centres[j]!;
        kj++;
      }
    }
    o += v.length;
    return { values: v, k: kj, n: v.length, relErr: norm ? Math.sqrt(err / norm) : 0, centre: centres[j]! };
  });
}


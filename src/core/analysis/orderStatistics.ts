/**
 * Order-statistic tail-index estimators of the paper's `est_alpha_one_alternatives`
 * (heavy-tails.md §2.3): each is evaluated for k in the MMO candidate list, then the median over k is
 * capped at 2. All take the samples' absolute values sorted ascending; only the k_max + 1 largest are read,
 * so a copy whose top k_max + 1 positions hold the largest values in order is enough.
 */
import { LOG_EPS, mmoCandidates } from './mmo.ts';
import { median } from './order.ts';

export type OrderEstimator = 'hill' | 'moment' | 'momentRatio' | 'pickands' | 'paulauskas';

export function sortedAbs(x: ArrayLike<number>): Float64Array {
  const s = new Float64Array(x.length);
  // Stryker disable next-line EqualityOperator: s[n] is past the end and dropped
  for (let i = 0; i < x.length; i++) s[i] = Math.abs(x[i]!);
  return s.sort();
}

/** Log-excesses ℓ_i − ℓ_{k+1} of the k largest values: their first two moments. */
function logMoments(s: Float64Array, k: number): [number, number] {
  const n = s.length;
  const base = Math.log(s[n - k - 1]! + LOG_EPS);
  let m1 = 0;
  let m2 = 0;
  for (let i = n - k; i < n; i++) {
    const d = Math.log(s[i]! + LOG_EPS) - base;
    m1 += d;
    m2 += d * d;
  }
  return [m1 / k, m2 / k];
}

export function hill(s: Float64Array, k: number): number {
  return 1 / logMoments(s, k)[0];
}

/** Dekkers–Einmahl–de Haan moment estimator. */
export function dedhMoment(s: Float64Array, k: number): number {
  const [m1, m2] = logMoments(s, k);
  return 1 / (m1 + 1 - 0.5 / (1 - (m1 * m1) / m2));
}

/** Moment-ratio ("dehaan1998"). */
export function dehaanRatio(s: Float64Array, k: number): number {
  const [m1, m2] = logMoments(s, k);
  return 1 / (m2 / (2 * m1));
}

/** Pickands as coded (integer divisions). Unstable for small k: auxiliary only. */
export function pickands(s: Float64Array, k: number): number {
  const n = s.length;
  const a = s[n - (Math.floor(k / 4) + 1)]!;
  const b = s[n - (Math.floor(k / 2) + 1)]!;
  const c = s[n - (k + 1)]!;
  return 1 / Math.log2((a - b) / (b - c));
}

/** Paulauskas–Vaičiulis: mean ratio of 2nd-largest to largest |x| over blocks of m (unsorted input). */
export function paulauskas(x: ArrayLike<number>, m: number): number {
  const blocks = Math.floor(x.length / m);
  let z = 0;
  for (let b = 0; b < blocks; b++) {
    let first = -Infinity;
    // Stryker disable next-line UnaryOperator: the first value of a block always overwrites `second` with `first`'s −∞
    let second = -Infinity;
    for (let i = b * m; i < (b + 1) * m; i++) {
      const v = Math.abs(x[i]!);
      // Stryker disable next-line EqualityOperator: on a tie, first and second both equal v either way
      if (v > first) {
        second = first;
        first = v;
        // Stryker disable next-line EqualityOperator: on a tie, second equals v either way
      } else if (v > second) second = v;
    }
    z += second / first;
  }
  z /= blocks;
  return z / (1 - z);
}

/**
 * paulauskas(x, m) for every block size in `sizes`, with the same results, in about two passes
 * instead of one per size. A block of m is made of whole blocks of any smaller size m′ dividing m,
 * and its two largest |x| are the two largest of theirs: so only sizes with no such divisor among
 * `sizes` read x, and each other size merges its divisor's pairs. x is processed in chunks of a
 * common multiple of all sizes, so every level's pairs for one chunk fit the cache; the ratios
 * are added in block order, as paulauskas adds them. Sizes whose least common multiple exceeds
 * 2¹⁸ are computed one by one.
 */
export function paulauskasAll(x: ArrayLike<number>, sizes: readonly number[]): number[] {
  const m = [...new Set(sizes)].sort((p, q) => p - q);
  const n = x.length;
  const gcd = (p: number, q: number): number => (q ? gcd(q, p % q) : p);
  const lcm = m.reduce((l, mi) => (l / gcd(l, mi)) * mi, 1);
  if (lcm > 1 << 18) return sizes.map((mi) => paulauskas(x, mi));
  // parent[i]: the largest smaller size dividing m[i] (its pairs build m[i]'s); −1 reads x
  const parent = m.map((mi, i) => {
    for (let j = i - 1; j >= 0; j--) if (mi % m[j]! === 0) return j;
    return -1;
  });
  const chunk = lcm * Math.max(1, Math.floor((1 << 16) / lcm));
  const first = m.map((mi) => new Float64Array(chunk / mi));
  const second = m.map((mi) => new Float64Array(chunk / mi));
  const z = new Float64Array(m.length);
  const blocks = m.map((mi) => Math.floor(n / mi));
  for (let c0 = 0; c0 < n; c0 += chunk) {
    const len = Math.min(chunk, n - c0);
    for (let i = 0; i < m.length; i++) {
      const mi = m[i]!;
      const count = Math.floor(len / mi); // whole blocks of this chunk (the last chunk may end in a partial one)
      const f = first[i]!;
      const s = second[i]!;
      const p = parent[i]!;
      if (p < 0) {
        for (let b = 0; b < count; b++) {
          let fb = -Infinity;
          let sb = -Infinity;
          const end = c0 + (b + 1) * mi;
          for (let t = c0 + b * mi; t < end; t++) {
            const v = Math.abs(x[t]!);
            if (v > fb) {
              sb = fb;
              fb = v;
            } else if (v > sb) sb = v;
          }
          f[b] = fb;
          s[b] = sb;
        }
      } else {
        const r = mi / m[p]!;
        const pf = first[p]!;
        const ps = second[p]!;
        for (let b = 0; b < count; b++) {
          let fb = -Infinity;
          let sb = -Infinity;
          const end = (b + 1) * r;
          for (let q = b * r; q < end; q++) {
            const fq = pf[q]!;
            // the two largest of (fb ≥ sb) and the pair (fq ≥ sq)
            if (fq > fb) {
              sb = Math.max(fb, ps[q]!);
              fb = fq;
            } else if (fq > sb) sb = fq;
          }
          f[b] = fb;
          s[b] = sb;
        }
      }
      let acc = z[i]!;
      for (let b = 0; b < count; b++) acc += s[b]! / f[b]!;
      z[i] = acc;
    }
  }
  const bySize = new Map(
    m.map((mi, i) => {
      const mean = z[i]! / blocks[i]!;
      return [mi, mean / (1 - mean)];
    }),
  );
  return sizes.map((mi) => bySize.get(mi)!);
}

export interface OrderEstimate {
  alpha: number;
  candidates: number[];
  perCandidate: number[];
}

/** median over the MMO candidate ks, capped at 2 (the reference's `alt_alpha`). */
export function estimateOrder(kind: OrderEstimator, x: ArrayLike<number>, sorted?: Float64Array, candidates = mmoCandidates(x.length)): OrderEstimate {
  let per: number[];
  // Paulauskas reads the blocks of x in their order; the others read the sorted |x|.
  if (kind === 'paulauskas') per = paulauskasAll(x, candidates);
  else {
    const s = sorted ?? sortedAbs(x);
    per = candidates.map((k) => {
      switch (kind) {
        case 'hill':
          return hill(s, k);
        case 'moment':
          return dedhMoment(s, k);
        case 'momentRatio':
          return dehaanRatio(s, k);
        case 'pickands':
          return pickands(s, k);
      }
    });
  }
  return { alpha: Math.min(median(per), 2), candidates, perCandidate: per };
}

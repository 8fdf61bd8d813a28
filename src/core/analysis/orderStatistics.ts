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

export interface OrderEstimate {
  alpha: number;
  candidates: number[];
  perCandidate: number[];
}

/** median over the MMO candidate ks, capped at 2 (the reference's `alt_alpha`). */
export function estimateOrder(kind: OrderEstimator, x: ArrayLike<number>, sorted?: Float64Array, candidates = mmoCandidates(x.length)): OrderEstimate {
  // Stryker disable next-line ConditionalExpression,StringLiteral: Paulauskas ignores the sorted copy; computing it only costs time
  const s = kind === 'paulauskas' ? undefined : (sorted ?? sortedAbs(x));
  const per = candidates.map((k) => {
    switch (kind) {
      case 'hill':
        return hill(s!, k);
      case 'moment':
        return dedhMoment(s!, k);
      case 'momentRatio':
        return dehaanRatio(s!, k);
      case 'pickands':
        return pickands(s!, k);
      case 'paulauskas':
        return paulauskas(x, k);
    }
  });
  return { alpha: Math.min(median(per), 2), candidates, perCandidate: per };
}

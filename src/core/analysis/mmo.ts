/**
 * The α-stable block-sum tail-index estimator of Mohammadi, Mohammadpour & Ogata (2015, Cor. 2.4),
 * as the heavy-tails paper's code uses it (heavy-tails.md §2.2).
 */

/** np.spacing(1): added inside every log so that zero norms stay finite. */
export const LOG_EPS = 2.220446049250313e-16;

const BASE_BLOCKS = [2, 5, 10, 20, 50, 100, 500, 1000];

function largestDivisorAtMost(n: number, c: number): number {
  let m = c;
  while (n % m !== 0) m--;
  return m;
}

/**
 * Candidate block sizes K1 (the paper's divisor rule): base sizes ≤ N/2, each replaced by the
 * largest divisor of N not above it, deduplicated and sorted, then the largest divisor ≤ ⌊√N⌋ appended.
 * Contains 1 when N has no suitable divisor (prime N), which the paper's code rejects.
 */
export function mmoCandidates(n: number): number[] {
  let c: number[];
  // Stryker disable next-line ConditionalExpression: the general rule gives [2, 5] for N = 10 too; kept because the paper's code spells it out
  if (n === 10) c = [2, 5];
  else c = BASE_BLOCKS.filter((b) => b <= n / 2).map((b) => largestDivisorAtMost(n, b));
  // Stryker disable next-line MethodExpression,ArrowFunction,ArithmeticOperator: the base sizes ascend and the largest divisor ≤ b is monotone in b, so c is already sorted
  c = [...new Set(c)].sort((a, b) => a - b);
  const m0 = largestDivisorAtMost(n, Math.floor(Math.sqrt(n)));
  // Stryker disable next-line ConditionalExpression,EqualityOperator: m0 = 1 only when N has no divisor in [2, √N], and then 1 is in c already (or c is empty and N < 4, refused either way)
  if (m0 > 1 && !c.includes(m0)) c.push(m0);
  return c;
}

/** Truncation variant (Gürbüzbalaban et al.): the base sizes ≤ N/2 as they are. */
export function truncationCandidates(n: number): number[] {
  return BASE_BLOCKS.filter((b) => b <= n / 2);
}

/** Σ log(‖X_j‖ + eps) over all samples (order-free). */
// Stryker disable next-line BlockStatement: without the cached total, estimateMmo computes the same sum from prefix sums
export function sumLogNorms(x: Float64Array, n: number, d: number): number {
  let acc = 0;
  for (let j = 0; j < n; j++) {
    let q;
    // Stryker disable next-line ConditionalExpression: the d = 1 shortcut; sqrt(fl(x²)) = |x| exactly
    if (d === 1) q = Math.abs(x[j]!);
    else {
      q = 0;
      for (let c = 0; c < d; c++) q += x[j * d + c]! * x[j * d + c]!;
      q = Math.sqrt(q);
    }
    acc += Math.log(q + LOG_EPS);
  }
  return acc;
}

/** Prefix sums of log(‖X_j‖ + eps) over the samples in visiting order (for L_X of any prefix). */
function logNormPrefix(x: Float64Array, n: number, d: number, order?: Uint32Array): Float64Array {
  const prefix = new Float64Array(n + 1);
  let acc = 0;
  // Stryker disable next-line EqualityOperator: prefix[n + 1] is past the end and dropped
  for (let j = 0; j < n; j++) {
    const r = (order ? order[j]! : j) * d;
    let q;
    // Stryker disable next-line ConditionalExpression: the d = 1 shortcut; sqrt(fl(x²)) = |x| exactly
    if (d === 1) q = Math.abs(x[r]!);
    else {
      q = 0;
      for (let c = 0; c < d; c++) q += x[r + c]! * x[r + c]!;
      q = Math.sqrt(q);
    }
    acc += Math.log(q + LOG_EPS);
    prefix[j + 1] = acc;
  }
  return prefix;
}

/**
 * α̂(K1) = log K1 / (L_Y − L_X) over ⌊N/K1⌋ complete blocks of K1 consecutive samples (rows of the
 * row-major n × d matrix `x`, visited in `order` when given).
 */
export function mmoOnce(x: Float64Array, n: number, d: number, k1: number, order?: Uint32Array, prefix?: Float64Array, total?: number): number {
  const k2 = Math.floor(n / k1);
  const used = k2 * k1;
  // Stryker disable next-line all: L_X from the cached total or from prefix sums is the same sum (in another order: rounding only)
  const lx = (used === n && total !== undefined ? total : (prefix ?? logNormPrefix(x, n, d, order))[used]!) / used;
  let ly = 0;
  // Stryker disable next-line ConditionalExpression: the d = 1 shortcut of the general loop below (sqrt(y²) = |y|)
  if (d === 1) {
    for (let b = 0; b < k2; b++) {
      let y = 0;
      // Stryker disable next-line AssignmentOperator: a negated block sum has the same |y|
      for (let t = b * k1; t < (b + 1) * k1; t++) y += x[order ? order[t]! : t]!;
      ly += Math.log(Math.abs(y) + LOG_EPS);
    }
  } else {
    const y = new Float64Array(d);
    for (let b = 0; b < k2; b++) {
      y.fill(0);
      for (let t = 0; t < k1; t++) {
        const r = (order ? order[b * k1 + t]! : b * k1 + t) * d;
        // Stryker disable next-line AssignmentOperator,EqualityOperator: a negated block sum has the same norm; y[d] is past the end and dropped
        for (let c = 0; c < d; c++) y[c] += x[r + c]!;
      }
      let q = 0;
      for (let c = 0; c < d; c++) q += y[c]! * y[c]!;
      ly += Math.log(Math.sqrt(q) + LOG_EPS);
    }
  }
  ly /= k2;
  // Block sums that do not grow (L_Y = L_X, e.g. identical |samples|) give log K1 / 0 = ∞, which
  // the cap turns into 2 (spec §2.2 edge cases). Summed in different orders, equal means can differ
  // by rounding; a difference at that level is 0, not a finite estimate of ±10³⁰.
  const diff = ly - lx;
  if (Math.abs(diff) <= 1e-13 * Math.max(1, Math.abs(lx))) return Infinity;
  return Math.log(k1) / diff;
}

export interface MmoResult {
  /** min(median over candidates, cap). */
  alpha: number;
  candidates: number[];
  perCandidate: number[];
  truncated: boolean;
}

/**
 * MMO over all candidates for n samples of dimension d. Throws when the divisor rule has no
 * admissible block size and truncation is not allowed (the paper's behaviour).
 */
export function estimateMmo(
  x: Float64Array,
  n: number,
  d: number,
  opts: {
    allowTruncation: boolean;
    cap?: number;
    order?: Uint32Array;
    /**
     * Σ log(‖X_j‖ + eps) over all n samples, when the caller knows it: with the divisor rule every
     * block size uses all samples, so L_X does not depend on the permutation and is computed once.
     */
    sumLogNorms?: number;
  },
): MmoResult {
  let candidates = mmoCandidates(n);
  let truncated = false;
  if (candidates.length === 0 || candidates.includes(1) || n > 3e7) {
    if (!opts.allowTruncation) {
      throw new RangeError(n > 3e7 ? `N = ${n} exceeds the paper code's 3·10⁷ limit` : `N = ${n} has no admissible block size (prime?)`);
    }
    candidates = truncationCandidates(n);
    truncated = true;
  }
  if (candidates.length === 0) throw new RangeError(`N = ${n} is too small for any block size`);
  // Without truncation every candidate uses all n samples, so L_X needs only the total.
  // Stryker disable next-line all: which of the two equal L_X computations runs is a matter of speed
  const total = !truncated ? (opts.sumLogNorms ?? sumLogNorms(x, n, d)) : undefined;
  // Stryker disable next-line all: as above
  const prefix = total === undefined ? logNormPrefix(x, n, d, opts.order) : undefined;
  const perCandidate = candidates.map((k1) => mmoOnce(x, n, d, k1, opts.order, prefix, total));
  const sorted = [...perCandidate].sort((a, b) => a - b);
  const m = sorted.length;
  const med = m % 2 ? sorted[(m - 1) / 2]! : (sorted[m / 2 - 1]! + sorted[m / 2]!) / 2;
  return { alpha: Math.min(med, opts.cap ?? 2), candidates, perCandidate, truncated };
}

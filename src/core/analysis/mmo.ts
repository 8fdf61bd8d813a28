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

const BIG = 2 ** 500;
const SMALL = 2 ** -500;

/**
 * Σ log f_i of positive factors, from their product: one multiply per factor instead of one
 * logarithm. The product is kept in [2⁻⁵⁰⁰, 2⁵⁰⁰] by exact power-of-two rescaling (counted in
 * `twos`); a factor outside that range (weights beyond 10¹⁵⁰) has its logarithm added directly.
 * The product's relative rounding, about ε per factor, is of the order of the rounding of a sum
 * of logarithms, so the result agrees with Σ log f_i to ~1e-15 relative.
 */
export class LogSum {
  private product = 1;
  private twos = 0;
  private direct = 0;

  add(f: number): void {
    if (f > SMALL && f < BIG) {
      let p = this.product * f;
      if (p > BIG) {
        p *= SMALL;
        this.twos += 500;
      } else if (p < SMALL) {
        p *= BIG;
        this.twos -= 500;
      }
      this.product = p;
    } else this.direct += Math.log(f);
  }

  value(): number {
    return Math.log(this.product) + this.twos * Math.LN2 + this.direct;
  }
}

/** Σ log(‖X_j‖ + eps) over all samples (order-free). */
// Stryker disable next-line BlockStatement: without the cached total, estimateMmo computes the same sum from prefix sums
export function sumLogNorms(x: Float64Array, n: number, d: number): number {
  const acc = new LogSum();
  for (let j = 0; j < n; j++) {
    let q;
    // Stryker disable next-line ConditionalExpression: the d = 1 shortcut; sqrt(fl(x²)) = |x| exactly
    if (d === 1) q = Math.abs(x[j]!);
    else {
      q = 0;
      for (let c = 0; c < d; c++) q += x[j * d + c]! * x[j * d + c]!;
      q = Math.sqrt(q);
    }
    acc.add(q + LOG_EPS);
  }
  return acc.value();
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
  return alphaFromMeans(k1, ly / k2, lx);
}

/**
 * α̂(K1) from the mean log block-sum norm L_Y and the mean log sample norm L_X. Block sums that do
 * not grow (L_Y = L_X, e.g. identical |samples|) give log K1 / 0 = ∞, which the cap turns into 2
 * (spec §2.2 edge cases). Summed in different orders, equal means can differ by rounding; a
 * difference at that level is 0, not a finite estimate of ±10³⁰.
 */
function alphaFromMeans(k1: number, ly: number, lx: number): number {
  const diff = ly - lx;
  if (Math.abs(diff) <= 1e-13 * Math.max(1, Math.abs(lx))) return Infinity;
  return Math.log(k1) / diff;
}

/**
 * Running sums restart every 2¹³ samples (see runningSums): more than any block size, which is at
 * most 1000 or ⌊√N⌋ ≤ ⌊√(3·10⁷)⌋ = 5477 (larger N falls back to the truncation sizes ≤ 1000).
 */
const SPAN_BITS = 13;
/** Samples per restart of the running sums (2¹³). */
export const RUNNING_SUM_SPAN = 1 << SPAN_BITS;

/**
 * Turns univariate samples into their running sums, in place, restarting every 2¹³ samples:
 * s[t] = x[t₀] + … + x[t], t₀ = t rounded down to a multiple of 2¹³. The sum of a block is then
 * a difference of two running sums (plus the total of the span it starts in, if it crosses into
 * the next), so one O(N) pass serves every block size, and each candidate costs O(N/K1) instead
 * of O(N). The restarts keep the running sums small, so the differences lose little to rounding:
 * α̂ per candidate agrees with sums taken block by block to 2e-11 relative at α = 0.8 and 4e-13 at
 * α = 2 (12.6M samples).
 */
function runningSums(x: Float64Array, n: number): void {
  const span = 1 << SPAN_BITS;
  for (let start = 0; start < n; start += span) {
    let acc = 0;
    const end = Math.min(n, start + span);
    for (let t = start; t < end; t++) {
      acc += x[t]!;
      x[t] = acc;
    }
  }
}

/**
 * α̂(K1) for every candidate of multivariate samples (rows of the row-major n × d matrix `x`,
 * visited in `order` when given), from one running sum of the rows: a block's sum is the running
 * sum at its end minus the one at its start (kept per candidate), so each row is added once, not
 * once per block size. The running sum restarts every 2¹³ rows as in runningSums (the kept starts
 * are moved to the new origin). `lx[i]` is L_X of candidate i.
 */
function mmoRowsFromRunningSums(x: Float64Array, n: number, d: number, candidates: number[], lx: number[], order?: Uint32Array): number[] {
  const c = candidates.length;
  const sum = new Float64Array(d);
  const starts = new Float64Array(c * d); // the running sum where each candidate's current block began
  const ly = candidates.map(() => new LogSum());
  const blocks = candidates.map((k1) => Math.floor(n / k1));
  const used = Math.max(...candidates.map((k1, i) => k1 * blocks[i]!));
  const span = 1 << SPAN_BITS;
  for (let t = 0; t < used; t++) {
    if (t > 0 && t % span === 0) {
      for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) starts[i * d + j] -= sum[j]!;
      sum.fill(0);
    }
    const r = (order ? order[t]! : t) * d;
    for (let j = 0; j < d; j++) sum[j] += x[r + j]!;
    for (let i = 0; i < c; i++) {
      const k1 = candidates[i]!;
      if ((t + 1) % k1 !== 0 || (t + 1) / k1 > blocks[i]!) continue;
      const o = i * d;
      let q = 0;
      for (let j = 0; j < d; j++) {
        const y = sum[j]! - starts[o + j]!;
        q += y * y;
        starts[o + j] = sum[j]!;
      }
      ly[i]!.add(Math.sqrt(q) + LOG_EPS);
    }
  }
  return candidates.map((k1, i) => alphaFromMeans(k1, ly[i]!.value() / blocks[i]!, lx[i]!));
}

/** α̂(K1) of univariate samples from their running sums `s` (see runningSums). */
function mmoFromRunningSums(s: Float64Array, n: number, k1: number, lx: number): number {
  const k2 = Math.floor(n / k1);
  const ly = new LogSum();
  const last = (1 << SPAN_BITS) - 1;
  for (let b = 0; b < k2; b++) {
    const first = b * k1; // the block is x[first .. first + k1 − 1]
    const end = first + k1 - 1;
    let y = s[end]!;
    if ((first & last) !== 0) {
      // the running sum before the block, in the block's first span or the span before
      y -= s[first - 1]!;
      if (first >> SPAN_BITS !== end >> SPAN_BITS) y += s[(end >> SPAN_BITS << SPAN_BITS) - 1]!;
    }
    ly.add(Math.abs(y) + LOG_EPS);
  }
  return alphaFromMeans(k1, ly.value() / k2, lx);
}

/**
 * The block sizes MMO uses for N samples: the divisor rule's, or (when it has none, or N is past the
 * paper code's 3·10⁷ limit) the truncation sizes, which only robust mode allows.
 */
export function blockSizes(n: number, allowTruncation: boolean): { candidates: number[]; truncated: boolean } {
  const candidates = mmoCandidates(n);
  if (candidates.length > 0 && !candidates.includes(1) && n <= 3e7) return { candidates, truncated: false };
  if (!allowTruncation) throw new RangeError(n > 3e7 ? `N = ${n} exceeds the paper code's 3·10⁷ limit` : `N = ${n} has no admissible block size (prime?)`);
  const truncation = truncationCandidates(n);
  if (truncation.length === 0) throw new RangeError(`N = ${n} is too small for any block size`);
  return { candidates: truncation, truncated: true };
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
    /**
     * Univariate samples visited in their stored order (no `order`) may be overwritten: they
     * become their running sums (the caller's shuffled copy, which is needed only here).
     */
    consume?: boolean;
    /**
     * Univariate samples (no `order`) already turned into their running sums, restarting every
     * RUNNING_SUM_SPAN samples (as a permutation can write them): only without truncation, where
     * L_X is `sumLogNorms` and the samples themselves are not needed.
     */
    summed?: boolean;
  },
): MmoResult {
  const { candidates, truncated } = blockSizes(n, opts.allowTruncation);
  if (opts.summed && (truncated || d !== 1 || opts.order || opts.sumLogNorms === undefined)) throw new Error('estimateMmo: running sums need untruncated univariate samples and their sumLogNorms');
  // Without truncation every candidate uses all n samples, so L_X needs only the total.
  // Stryker disable next-line all: which of the two equal L_X computations runs is a matter of speed
  const total = !truncated ? (opts.sumLogNorms ?? sumLogNorms(x, n, d)) : undefined;
  // Stryker disable next-line all: as above
  const prefix = total === undefined ? logNormPrefix(x, n, d, opts.order) : undefined;
  // L_X of each candidate: over the ⌊N/K1⌋·K1 samples its blocks use (all of them without truncation).
  const lx = candidates.map((k1) => {
    const used = Math.floor(n / k1) * k1;
    return (used === n && total !== undefined ? total : prefix![used]!) / used;
  });
  let perCandidate: number[];
  if (opts.summed) perCandidate = candidates.map((k1, i) => mmoFromRunningSums(x, n, k1, lx[i]!));
  else if (opts.consume && d === 1 && !opts.order) {
    runningSums(x, n);
    perCandidate = candidates.map((k1, i) => mmoFromRunningSums(x, n, k1, lx[i]!));
  } else if (d > 1) {
    perCandidate = mmoRowsFromRunningSums(x, n, d, candidates, lx, opts.order);
  } else perCandidate = candidates.map((k1) => mmoOnce(x, n, d, k1, opts.order, prefix, total));
  const sorted = [...perCandidate].sort((a, b) => a - b);
  const m = sorted.length;
  const med = m % 2 ? sorted[(m - 1) / 2]! : (sorted[m / 2 - 1]! + sorted[m / 2]!) / 2;
  return { alpha: Math.min(med, opts.cap ?? 2), candidates, perCandidate, truncated };
}
